package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// An api is one of the wire formats a Transport audits.
type api int

const (
	apiNone         api = iota
	apiChat             // OpenAI Chat Completions
	apiResponses        // OpenAI Responses
	apiMessages         // Anthropic Messages
	apiEmbeddings       // OpenAI Embeddings
	apiGemini           // Gemini generateContent
	apiGeminiStream     // Gemini streamGenerateContent
	apiGeminiEmbed      // Gemini embedContent
	apiGeminiBatch      // Gemini batchEmbedContents
)

func (a api) String() string {
	switch a {
	case apiChat:
		return "chat.completions"
	case apiResponses:
		return "responses"
	case apiMessages:
		return "messages"
	case apiEmbeddings:
		return "embeddings"
	case apiGemini:
		return "generateContent"
	case apiGeminiStream:
		return "streamGenerateContent"
	case apiGeminiEmbed:
		return "embedContent"
	case apiGeminiBatch:
		return "batchEmbedContents"
	}
	return ""
}

// gemini reports whether a is one of Gemini's APIs.
func (a api) gemini() bool { return a >= apiGemini }

// embeddings reports whether a is an embeddings API.
func (a api) embeddings() bool {
	return a == apiEmbeddings || a == apiGeminiEmbed || a == apiGeminiBatch
}

// endsAtEOF reports whether a's streams have no final event: they are
// complete when they gave a finish reason and ended cleanly.
func (a api) endsAtEOF() bool { return a == apiChat || a == apiGeminiStream }

func (a api) provider() string {
	switch a {
	case apiChat, apiResponses, apiEmbeddings:
		return "openai"
	case apiMessages:
		return "anthropic"
	case apiGemini, apiGeminiStream, apiGeminiEmbed, apiGeminiBatch:
		return "google"
	}
	return ""
}

// detect returns the API a request calls, from its method and path: a POST
// to .../chat/completions, .../responses, .../messages or .../embeddings,
// with or without a /v1 prefix, so that APIs mounted elsewhere (Azure
// deployments, proxies) are found too; or to Gemini's
// .../models/MODEL:generateContent (streamGenerateContent, embedContent,
// batchEmbedContents).
func detect(method, path string) api {
	if method != http.MethodPost {
		return apiNone
	}
	path = strings.TrimSuffix(path, "/")
	switch {
	case strings.HasSuffix(path, "/chat/completions"):
		return apiChat
	case strings.HasSuffix(path, "/responses"):
		return apiResponses
	case strings.HasSuffix(path, "/messages"):
		return apiMessages
	case strings.HasSuffix(path, "/embeddings"):
		return apiEmbeddings
	}
	i := strings.LastIndexByte(path, ':')
	if i < 0 || !strings.Contains(path[:i], "models/") {
		return apiNone
	}
	switch path[i+1:] {
	case "generateContent":
		return apiGemini
	case "streamGenerateContent":
		return apiGeminiStream
	case "embedContent":
		return apiGeminiEmbed
	case "batchEmbedContents":
		return apiGeminiBatch
	}
	return apiNone
}

// pathModel returns the model a Gemini path names: "gemini-2.5-flash" of
// /v1beta/models/gemini-2.5-flash:generateContent ("tunedModels/x" as is).
func pathModel(path string) string {
	i := strings.LastIndexByte(path, ':')
	if i < 0 {
		return ""
	}
	path = path[:i]
	if j := strings.LastIndex(path, "/models/"); j >= 0 {
		return path[j+len("/models/"):]
	}
	if j := strings.Index(path, "tunedModels/"); j >= 0 {
		return path[j:]
	}
	return ""
}

// requestInfo is what a request body says.
type requestInfo struct {
	model  string
	stream bool
	parsed bool // the body was JSON: model and stream are what it said
	input  string
	user   string // the end user's id, if the request names one
	alerts []string
}

// reqBody has the fields of the three request formats that an entry uses.
type reqBody struct {
	Model            string          `json:"model"`
	Stream           bool            `json:"stream"`
	Messages         json.RawMessage `json:"messages"`     // chat, messages
	Input            json.RawMessage `json:"input"`        // responses
	Instructions     json.RawMessage `json:"instructions"` // responses
	System           json.RawMessage `json:"system"`       // messages
	User             string          `json:"user"`
	SafetyIdentifier string          `json:"safety_identifier"`
	Metadata         json.RawMessage `json:"metadata"`

	// Gemini, which accepts both spellings of its field names.
	Contents          json.RawMessage `json:"contents"`
	SystemInstruction json.RawMessage `json:"systemInstruction"`
	SystemSnake       json.RawMessage `json:"system_instruction"`
	Content           json.RawMessage `json:"content"` // embedContent
	Requests          []struct {      // batchEmbedContents
		Content json.RawMessage `json:"content"`
	} `json:"requests"`
}

// parseRequest reads what an entry records from a request body. A body that
// is not JSON is recorded whole as the input, with an alert.
func parseRequest(a api, body []byte, mode InputMode) requestInfo {
	var r reqBody
	var info requestInfo
	if err := json.Unmarshal(body, &r); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			info.input = string(body)
			info.alerts = append(info.alerts, "request body is not valid JSON: recorded as sent")
			return info
		}
		// A field of an unexpected type: keep what did decode.
		info.alerts = append(info.alerts, "request field "+te.Field+" has an unexpected type")
	}
	info.model, info.stream, info.parsed = r.Model, r.Stream, true
	info.user = r.SafetyIdentifier
	if info.user == "" {
		info.user = r.User
	}
	if info.user == "" && len(r.Metadata) > 0 {
		var md struct {
			UserID string `json:"user_id"`
		}
		if json.Unmarshal(r.Metadata, &md) == nil {
			info.user = md.UserID
		}
	}
	switch a {
	case apiEmbeddings:
		info.input = embeddingsInput(r.Input)
		return info
	case apiGeminiEmbed:
		info.input = geminiText(r.Content)
		return info
	case apiGeminiBatch:
		texts := make([]string, len(r.Requests))
		for i, rq := range r.Requests {
			texts[i] = geminiText(rq.Content)
		}
		b, _ := json.Marshal(texts)
		info.input = string(b)
		return info
	case apiGemini, apiGeminiStream:
		if len(r.SystemInstruction) == 0 {
			r.SystemInstruction = r.SystemSnake
		}
		if mode == WholeConversation {
			info.input = conversation("systemInstruction", r.SystemInstruction, "contents", r.Contents)
		} else {
			info.input = lastGeminiUser(r.Contents)
		}
		return info
	}
	if mode == WholeConversation {
		switch a {
		case apiChat:
			info.input = conversation("messages", r.Messages)
		case apiResponses:
			info.input = conversation("instructions", r.Instructions, "input", r.Input)
		case apiMessages:
			info.input = conversation("system", r.System, "messages", r.Messages)
		}
		return info
	}
	switch a {
	case apiChat, apiMessages:
		info.input = lastUser(r.Messages)
	case apiResponses:
		var s string
		if json.Unmarshal(r.Input, &s) == nil {
			info.input = s
		} else {
			info.input = lastUser(r.Input)
		}
	}
	return info
}

// conversation returns {"name": value, ...} in compact JSON for the
// name/value pairs whose value is present.
func conversation(kv ...any) string {
	var b bytes.Buffer
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		v := kv[i+1].(json.RawMessage)
		if len(v) == 0 || string(v) == "null" {
			continue
		}
		if b.Len() > 1 {
			b.WriteByte(',')
		}
		b.WriteByte('"')
		b.WriteString(kv[i].(string))
		b.WriteString(`":`)
		if json.Compact(&b, v) != nil {
			b.Write(v)
		}
	}
	b.WriteByte('}')
	return b.String()
}

// message is an item of a messages or input array.
type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// lastUser returns the text of the last message whose role is "user".
func lastUser(raw json.RawMessage) string {
	var msgs []message
	if json.Unmarshal(raw, &msgs) != nil {
		return ""
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return contentText(msgs[i].Content)
		}
	}
	return ""
}

// part is one content part or block.
type part struct {
	Type    string          `json:"type"`
	Text    string          `json:"text"`
	Content json.RawMessage `json:"content"` // of an Anthropic tool_result
}

// contentText returns the text of a message's content: the string itself,
// or the text parts joined by newlines ("text", "input_text", and the text
// inside Anthropic tool results).
func contentText(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []part
	if json.Unmarshal(raw, &parts) != nil {
		return ""
	}
	var texts []string
	for _, p := range parts {
		switch p.Type {
		case "text", "input_text":
			texts = append(texts, p.Text)
		case "tool_result":
			if t := contentText(p.Content); t != "" {
				texts = append(texts, t)
			}
		}
	}
	return strings.Join(texts, "\n")
}

// embeddingsInput returns the input of an OpenAI embeddings request: the
// string itself, or the input as sent (an array of strings or of tokens)
// in compact JSON.
func embeddingsInput(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// geminiContent is a Gemini Content: a role and its parts.
type geminiContent struct {
	Role  string `json:"role"`
	Parts []struct {
		Text    string `json:"text"`
		Thought bool   `json:"thought"`
	} `json:"parts"`
}

// geminiText returns the text parts of a Gemini Content, joined by
// newlines.
func geminiText(raw json.RawMessage) string {
	var c geminiContent
	if json.Unmarshal(raw, &c) != nil {
		return ""
	}
	var texts []string
	for _, p := range c.Parts {
		if p.Text != "" && !p.Thought {
			texts = append(texts, p.Text)
		}
	}
	return strings.Join(texts, "\n")
}

// lastGeminiUser returns the text of the last content whose role is
// "user" (or not given, which means the user).
func lastGeminiUser(raw json.RawMessage) string {
	var cs []json.RawMessage
	if json.Unmarshal(raw, &cs) != nil {
		return ""
	}
	for i := len(cs) - 1; i >= 0; i-- {
		var c struct {
			Role string `json:"role"`
		}
		if json.Unmarshal(cs[i], &c) == nil && (c.Role == "user" || c.Role == "") {
			return geminiText(cs[i])
		}
	}
	return ""
}
