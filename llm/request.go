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
	apiNone      api = iota
	apiChat          // OpenAI Chat Completions
	apiResponses     // OpenAI Responses
	apiMessages      // Anthropic Messages
)

func (a api) String() string {
	switch a {
	case apiChat:
		return "chat.completions"
	case apiResponses:
		return "responses"
	case apiMessages:
		return "messages"
	}
	return ""
}

func (a api) provider() string {
	switch a {
	case apiChat, apiResponses:
		return "openai"
	case apiMessages:
		return "anthropic"
	}
	return ""
}

// detect returns the API a request calls, from its method and path: a POST
// to .../chat/completions, .../responses or .../messages, with or without
// a /v1 prefix, so that APIs mounted elsewhere (Azure deployments, proxies)
// are found too.
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
	}
	return apiNone
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
