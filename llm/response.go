package llm

import (
	"bytes"
	"cmp"
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/complyhq/comply/internal/line"
)

// result is what a response says, gathered as it is parsed.
type result struct {
	api    api
	stream bool
	max    int // bound on the kept text

	texts   []strings.Builder // output text by choice index
	kept    int
	cut     bool
	refusal strings.Builder

	model, id, requestID string
	finish               string // finish_reason, stop_reason or status detail
	inTok, outTok        *int64
	tools                []*toolCall
	toolsDropped         bool
	alerts               []string

	// live says the stream is parsed as it passes; then firstAt is when
	// its first output (text, refusal or tool call) arrived.
	live    bool
	firstAt time.Time

	embed *embeddingsOutput // the summary of an embeddings call's vectors

	errMsg    string // an error the body or stream reported
	refused   bool
	filtered  bool
	complete  bool   // the response ended as its format says it should
	sawFinish bool   // a chat stream gave a finish_reason
	malformed string // why the body could not be parsed
}

// output notes that output arrived, for the time to first token.
func (r *result) output() {
	if r.live && r.firstAt.IsZero() {
		r.firstAt = time.Now()
	}
}

func (r *result) addText(i int, s string) {
	if s == "" {
		return
	}
	r.output()
	if i < 0 || i >= 128 {
		i = 0
	}
	for len(r.texts) <= i {
		r.texts = append(r.texts, strings.Builder{})
	}
	if r.kept+len(s) > r.max {
		r.cut = true
		s = truncateUTF8(s, r.max-r.kept)
	}
	r.kept += len(s)
	r.texts[i].WriteString(s)
}

func (r *result) addRefusal(s string) {
	if s == "" {
		return
	}
	r.refused = true
	r.output()
	if r.refusal.Len()+len(s) <= r.max {
		r.refusal.WriteString(s)
	}
}

// maxTools bounds the tool calls recorded of one response.
const maxTools = 64

// A toolCall is one tool call of a response, gathered as it is parsed.
type toolCall struct {
	key   int // its place in the response, by which calls are ordered
	name  string
	args  strings.Builder // the arguments as sent, or as streamed so far
	start string          // arguments given when the call began (Messages)
}

// tool returns the tool call at key, added with name if new, or nil past
// maxTools.
func (r *result) tool(key int, name string) *toolCall {
	for _, tc := range r.tools {
		if tc.key == key {
			if tc.name == "" {
				tc.name = name
			}
			return tc
		}
	}
	if len(r.tools) >= maxTools {
		r.toolsDropped = true
		return nil
	}
	tc := &toolCall{key: key, name: name}
	r.tools = append(r.tools, tc)
	r.output()
	return tc
}

// addArgs appends a fragment of a tool call's arguments, within the bound.
func (r *result) addArgs(tc *toolCall, s string) {
	if tc == nil || s == "" {
		return
	}
	r.output()
	if r.kept+len(s) > r.max {
		r.cut = true
		s = truncateUTF8(s, r.max-r.kept)
	}
	r.kept += len(s)
	tc.args.WriteString(s)
}

// setArgs replaces a tool call's arguments with their complete value.
func (r *result) setArgs(tc *toolCall, s string) {
	if tc == nil {
		return
	}
	r.kept -= tc.args.Len()
	tc.args.Reset()
	r.addArgs(tc, s)
}

// toolCalls returns the tool calls in the order of the response, with
// their canonical arguments.
func (r *result) toolCalls() []toolEvidence {
	tcs := slices.SortedStableFunc(slices.Values(r.tools), func(a, b *toolCall) int { return cmp.Compare(a.key, b.key) })
	out := make([]toolEvidence, len(tcs))
	for i, tc := range tcs {
		args := tc.args.String()
		if args == "" {
			args = tc.start
		}
		out[i] = toolEvidence{name: tc.name, args: canonicalArgs(args)}
	}
	return out
}

// toolEvidence is a tool call as recorded: its name and canonical
// arguments.
type toolEvidence struct{ name, args string }

// canonicalArgs returns a tool call's arguments as recorded: valid JSON
// compacted (json.Compact: whitespace outside strings removed, nothing
// else changed), anything else as sent.
func canonicalArgs(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return s
	}
	return b.String()
}

// render appends the canonical rendering of a tool call, one JSON object
// in the Python json.dumps style with separators (",", ":"):
// {"type":"tool_call","name":NAME,"arguments":ARGS}, ARGS a string.
func (e toolEvidence) render(dst []byte) []byte {
	dst = append(dst, `{"type":"tool_call","name":`...)
	dst = line.AppendString(dst, e.name)
	dst = append(dst, `,"arguments":`...)
	dst = line.AppendString(dst, e.args)
	return append(dst, '}')
}

// text returns the output: the text of each choice, joined by newlines
// when there are several, or the refusal when there is no text; then the
// canonical rendering of each tool call, each on a line of its own.
func (r *result) text() string {
	var parts []string
	for i := range r.texts {
		if r.texts[i].Len() > 0 {
			parts = append(parts, r.texts[i].String())
		}
	}
	if len(parts) == 0 && r.refusal.Len() > 0 {
		parts = append(parts, r.refusal.String())
	}
	for _, tc := range r.toolCalls() {
		parts = append(parts, string(tc.render(nil)))
	}
	return strings.Join(parts, "\n")
}

// answerText returns the output without the tool calls: the text, or the
// refusal.
func (r *result) answerText() string {
	var parts []string
	for i := range r.texts {
		if r.texts[i].Len() > 0 {
			parts = append(parts, r.texts[i].String())
		}
	}
	if len(parts) == 0 {
		return r.refusal.String()
	}
	return strings.Join(parts, "\n")
}

func intp(n *int64) *int64 {
	if n == nil {
		return nil
	}
	v := *n
	return &v
}

// apiError is the error object of both providers' error bodies and events:
// {"error": {"message": ..., "type": ..., "code": ...}}.
type apiError struct {
	Message string          `json:"message"`
	Type    string          `json:"type"`
	Code    json.RawMessage `json:"code"`
}

func (e *apiError) String() string {
	if e == nil {
		return ""
	}
	msg := e.Message
	if msg == "" {
		msg = e.Type
	}
	if msg == "" && len(e.Code) > 0 && string(e.Code) != "null" {
		msg = strings.Trim(string(e.Code), `"`)
	}
	if msg == "" {
		msg = "error"
	}
	return msg
}

// errorBody reads the message of an HTTP error body, or its first bytes if
// it is not JSON, and whether the error is a content policy's (OpenAI's
// content_policy_violation, Azure's content_filter).
func errorBody(body []byte) (msg string, policy bool) {
	var e struct {
		Error   *apiError `json:"error"`
		Message string    `json:"message"`
	}
	if json.Unmarshal(body, &e) == nil {
		if e.Error != nil {
			return e.Error.String(), e.Error.policy()
		}
		if e.Message != "" {
			return e.Message, false
		}
	}
	s := strings.TrimSpace(string(body))
	return truncateUTF8(strings.ToValidUTF8(s, "\uFFFD"), 200), false
}

// policy reports whether the error says a content policy blocked the call.
func (e *apiError) policy() bool {
	for _, s := range []string{e.Type, strings.Trim(string(e.Code), `"`)} {
		switch s {
		case "content_filter", "content_policy_violation":
			return true
		}
	}
	return false
}

// Chat Completions.

type chatUsage struct {
	PromptTokens     *int64 `json:"prompt_tokens"`
	CompletionTokens *int64 `json:"completion_tokens"`
}

type chatFunction struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

type chatToolCall struct {
	Index    *int         `json:"index"` // of a chunk's fragment
	Function chatFunction `json:"function"`
	Custom   *struct {
		Name  string `json:"name"`
		Input string `json:"input"`
	} `json:"custom"`
}

type chatMessage struct {
	Content      *string        `json:"content"`
	Refusal      *string        `json:"refusal"`
	ToolCalls    []chatToolCall `json:"tool_calls"`
	FunctionCall *chatFunction  `json:"function_call"` // deprecated, still sent
}

type chatCompletion struct {
	ID      string `json:"id"`
	Model   string `json:"model"`
	Choices []struct {
		Index        int          `json:"index"`
		Message      *chatMessage `json:"message"` // a completion
		Delta        *chatMessage `json:"delta"`   // a chunk
		FinishReason *string      `json:"finish_reason"`
	} `json:"choices"`
	Usage *chatUsage `json:"usage"`
	Error *apiError  `json:"error"`
}

// identify records a response's id, model and API error, where given.
func (r *result) identify(id, model string, apiErr *apiError) {
	if id != "" {
		r.id = id
	}
	if model != "" {
		r.model = model
	}
	if apiErr != nil {
		r.errMsg = apiErr.String()
	}
}

func (r *result) chat(c *chatCompletion) {
	r.identify(c.ID, c.Model, c.Error)
	for _, ch := range c.Choices {
		m := ch.Message
		if m == nil {
			m = ch.Delta
		}
		if m != nil {
			if m.Content != nil {
				r.addText(ch.Index, *m.Content)
			}
			if m.Refusal != nil {
				r.addRefusal(*m.Refusal)
			}
			r.chatTools(ch.Index, m, ch.Message != nil)
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			r.sawFinish = true
			r.finish = *ch.FinishReason
			if r.finish == "content_filter" {
				r.filtered = true
			}
		}
	}
	if c.Usage != nil {
		r.inTok, r.outTok = intp(c.Usage.PromptTokens), intp(c.Usage.CompletionTokens)
	}
}

// chatTools records the tool calls of choice i's message, or of a chunk's
// delta (whole is false), whose arguments come in fragments.
func (r *result) chatTools(i int, m *chatMessage, whole bool) {
	i = min(max(i, 0), 127)
	for k, tc := range m.ToolCalls {
		if tc.Index != nil {
			k = min(max(*tc.Index, 0), 1000)
		}
		name, args := tc.Function.Name, tc.Function.Arguments
		if tc.Custom != nil {
			name, args = tc.Custom.Name, tc.Custom.Input
		}
		t := r.tool(i*1024+k, name)
		if whole {
			r.setArgs(t, args)
		} else {
			r.addArgs(t, args)
		}
	}
	if f := m.FunctionCall; f != nil {
		t := r.tool(i*1024+1023, f.Name)
		if whole {
			r.setArgs(t, f.Arguments)
		} else {
			r.addArgs(t, f.Arguments)
		}
	}
}

// Responses.

type respUsage struct {
	InputTokens  *int64 `json:"input_tokens"`
	OutputTokens *int64 `json:"output_tokens"`
}

type respObject struct {
	ID                string `json:"id"`
	Model             string `json:"model"`
	Status            string `json:"status"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
	Error  *apiError `json:"error"`
	Output []struct {
		Type      string `json:"type"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"` // of a function_call
		Input     string `json:"input"`     // of a custom_tool_call
		Content   []struct {
			Type    string `json:"type"`
			Text    string `json:"text"`
			Refusal string `json:"refusal"`
		} `json:"content"`
	} `json:"output"`
	Usage *respUsage `json:"usage"`
}

// response records a whole Response object; withOutput says whether to take
// its output text too (a stream has already taken it from the deltas).
func (r *result) response(o *respObject, withOutput bool) {
	r.identify(o.ID, o.Model, o.Error)
	switch o.Status {
	case "completed":
		r.finish = "completed"
	case "incomplete":
		r.finish = "incomplete"
		if o.IncompleteDetails != nil && o.IncompleteDetails.Reason != "" {
			r.finish = o.IncompleteDetails.Reason
			if r.finish == "content_filter" {
				r.filtered = true
			}
		}
	case "failed", "cancelled":
		r.finish = o.Status
		if r.errMsg == "" {
			r.errMsg = "response " + o.Status
		}
	}
	for i, item := range o.Output {
		switch item.Type {
		case "message":
			for _, c := range item.Content {
				switch c.Type {
				case "output_text":
					if withOutput {
						r.addText(0, c.Text)
					}
				case "refusal":
					if withOutput {
						r.addRefusal(c.Refusal)
					}
				}
			}
		case "function_call", "custom_tool_call":
			// Also for a stream: the final object has the whole call.
			r.setArgs(r.tool(i, item.Name), item.Arguments+item.Input)
		}
	}
	if o.Usage != nil {
		r.inTok, r.outTok = intp(o.Usage.InputTokens), intp(o.Usage.OutputTokens)
	}
}

type respEvent struct {
	Type        string      `json:"type"`
	Delta       string      `json:"delta"`
	Message     string      `json:"message"` // of an error event
	Code        *string     `json:"code"`
	Response    *respObject `json:"response"`
	OutputIndex int         `json:"output_index"`
	Arguments   *string     `json:"arguments"` // function_call_arguments.done
	Input       *string     `json:"input"`     // custom_tool_call_input.done
	Item        *struct {
		Type      string `json:"type"`
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
		Input     string `json:"input"`
	} `json:"item"`
}

// Messages.

type msgUsage struct {
	InputTokens  *int64 `json:"input_tokens"`
	OutputTokens *int64 `json:"output_tokens"`
}

type msgBlock struct {
	Type  string          `json:"type"`
	Text  string          `json:"text"`
	Name  string          `json:"name"`
	Input json.RawMessage `json:"input"` // of a tool_use
}

type msgObject struct {
	ID         string     `json:"id"`
	Type       string     `json:"type"`
	Model      string     `json:"model"`
	Content    []msgBlock `json:"content"`
	StopReason *string    `json:"stop_reason"`
	Usage      *msgUsage  `json:"usage"`
	Error      *apiError  `json:"error"`
}

func (r *result) message(m *msgObject) {
	r.identify(m.ID, m.Model, m.Error)
	for i, b := range m.Content {
		switch b.Type {
		case "text":
			r.addText(0, b.Text)
		case "tool_use", "server_tool_use":
			r.setArgs(r.tool(i, b.Name), string(b.Input))
		}
	}
	if m.StopReason != nil {
		r.stopReason(*m.StopReason)
	}
	r.usage(m.Usage)
}

func (r *result) stopReason(s string) {
	if s == "" {
		return
	}
	r.finish = s
	if s == "refusal" {
		r.refused = true
	}
}

func (r *result) usage(u *msgUsage) {
	if u == nil {
		return
	}
	if u.InputTokens != nil {
		r.inTok = intp(u.InputTokens)
	}
	if u.OutputTokens != nil {
		r.outTok = intp(u.OutputTokens)
	}
}

type msgEvent struct {
	Type    string     `json:"type"`
	Message *msgObject `json:"message"` // message_start
	Index   int        `json:"index"`
	Block   *msgBlock  `json:"content_block"` // content_block_start
	Delta   *struct {
		Type        string  `json:"type"`
		Text        string  `json:"text"`
		PartialJSON string  `json:"partial_json"`
		StopReason  *string `json:"stop_reason"`
	} `json:"delta"`
	Usage *msgUsage `json:"usage"` // message_delta
	Error *apiError `json:"error"`
}

// parseJSON parses a whole JSON response body.
func (r *result) parseJSON(body []byte) {
	var err error
	switch r.api {
	case apiChat:
		var c chatCompletion
		if err = json.Unmarshal(body, &c); err == nil {
			r.chat(&c)
		}
	case apiResponses:
		var o respObject
		if err = json.Unmarshal(body, &o); err == nil {
			r.response(&o, true)
		}
	case apiMessages:
		var m msgObject
		if err = json.Unmarshal(body, &m); err == nil {
			r.message(&m)
		}
	case apiGemini, apiGeminiStream:
		err = r.parseGemini(body)
	case apiEmbeddings, apiGeminiEmbed, apiGeminiBatch:
		err = r.parseEmbeddings(body)
	}
	if err != nil {
		r.malformed = jsonErr(err)
		return
	}
	r.complete = true
}

func jsonErr(err error) string {
	if _, ok := err.(*json.SyntaxError); ok || strings.Contains(err.Error(), "unexpected end of JSON") {
		return "invalid JSON: " + err.Error()
	}
	return err.Error()
}

// event handles one server-sent event and reports whether it ends the
// stream.
func (r *result) event(name string, data []byte) bool {
	switch r.api {
	case apiChat:
		if string(data) == "[DONE]" {
			r.complete = true
			return true
		}
		var c chatCompletion
		if err := json.Unmarshal(data, &c); err != nil {
			r.badEvent(err)
			return false
		}
		r.chat(&c)
	case apiResponses:
		return r.responsesEvent(name, data)
	case apiGemini, apiGeminiStream:
		var g gemResponse
		if err := json.Unmarshal(data, &g); err != nil {
			r.badEvent(err)
			return false
		}
		r.gemini(&g)
	case apiMessages:
		return r.messagesEvent(name, data)
	}
	return false
}

// responsesEvent handles an event of a Responses stream.
func (r *result) responsesEvent(name string, data []byte) bool {
	var e respEvent
	if err := json.Unmarshal(data, &e); err != nil {
		r.badEvent(err)
		return false
	}
	if e.Type == "" {
		e.Type = name
	}
	switch e.Type {
	case "response.created", "response.in_progress":
		if e.Response != nil {
			r.id, r.model = e.Response.ID, e.Response.Model
		}
	case "response.output_text.delta":
		r.addText(0, e.Delta)
	case "response.refusal.delta":
		r.addRefusal(e.Delta)
	case "response.output_item.added", "response.output_item.done":
		if e.Item != nil && (e.Item.Type == "function_call" || e.Item.Type == "custom_tool_call") {
			t := r.tool(e.OutputIndex, e.Item.Name)
			if args := e.Item.Arguments + e.Item.Input; args != "" {
				r.setArgs(t, args)
			}
		}
	case "response.function_call_arguments.delta", "response.custom_tool_call_input.delta":
		r.addArgs(r.tool(e.OutputIndex, ""), e.Delta)
	case "response.function_call_arguments.done", "response.custom_tool_call_input.done":
		if e.Arguments != nil {
			r.setArgs(r.tool(e.OutputIndex, ""), *e.Arguments)
		} else if e.Input != nil {
			r.setArgs(r.tool(e.OutputIndex, ""), *e.Input)
		}
	case "response.completed", "response.incomplete", "response.failed":
		if e.Response != nil {
			r.response(e.Response, false)
		}
		r.complete = true
		return true
	case "error":
		msg := e.Message
		if msg == "" && e.Code != nil {
			msg = *e.Code
		}
		r.errMsg = msg
	}
	return false
}

// messagesEvent handles an event of a Messages stream.
func (r *result) messagesEvent(name string, data []byte) bool {
	var e msgEvent
	if err := json.Unmarshal(data, &e); err != nil {
		r.badEvent(err)
		return false
	}
	if e.Type == "" {
		e.Type = name
	}
	switch e.Type {
	case "message_start":
		if e.Message != nil {
			r.id, r.model = e.Message.ID, e.Message.Model
			r.usage(e.Message.Usage)
		}
	case "content_block_start":
		if e.Block != nil {
			switch e.Block.Type {
			case "text":
				r.addText(0, e.Block.Text)
			case "tool_use", "server_tool_use":
				if t := r.tool(e.Index, e.Block.Name); t != nil {
					t.start = string(e.Block.Input)
				}
			}
		}
	case "content_block_delta":
		switch {
		case e.Delta == nil:
		case e.Delta.Type == "text_delta":
			r.addText(0, e.Delta.Text)
		case e.Delta.Type == "input_json_delta":
			r.addArgs(r.tool(e.Index, ""), e.Delta.PartialJSON)
		}
	case "message_delta":
		if e.Delta != nil && e.Delta.StopReason != nil {
			r.stopReason(*e.Delta.StopReason)
		}
		r.usage(e.Usage)
	case "message_stop":
		r.complete = true
		return true
	case "error":
		r.errMsg = e.Error.String()
	}
	return false
}

func (r *result) badEvent(err error) {
	if r.malformed == "" {
		r.malformed = "event: " + jsonErr(err)
	}
}
