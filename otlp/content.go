package otlp

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/complyhq/comply/internal/line"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// A message is one message of a conversation, in whichever form the
// instrumentation recorded it: its role, its text parts, its tool calls
// and (for an output message) its finish reason.
type message struct {
	role   string
	texts  []string
	calls  []toolCall
	finish string
}

// A toolCall is a tool call of an output message: its name and its
// arguments in canonical form (see canonicalArgs).
type toolCall struct {
	name, args string
}

// content is what a span captured of its conversation. captured says
// whether the form was present at all (an instrumentation that records no
// content leaves every form out).
type content struct {
	in, out                 []message
	inCaptured, outCaptured bool
	// form names the form each side came from, for tests.
	inForm, outForm string
}

// Forms of the captured content, newest first.
const (
	formMessages = "gen_ai.input.messages"   // and gen_ai.output.messages, gen_ai.system_instructions
	formDetails  = "operation.details event" // gen_ai.client.inference.operation.details
	formIndexed  = "indexed attributes"      // gen_ai.prompt.N.*, gen_ai.completion.N.*
	formEvents   = "message events"          // gen_ai.user.message, ..., gen_ai.choice
	formPrompt   = "gen_ai.prompt"           // and gen_ai.completion, attributes or gen_ai.content.* events
)

// Event names of the conventions.
const (
	eventDetails    = "gen_ai.client.inference.operation.details"
	eventSystem     = "gen_ai.system.message"
	eventUser       = "gen_ai.user.message"
	eventAssistant  = "gen_ai.assistant.message"
	eventTool       = "gen_ai.tool.message"
	eventChoice     = "gen_ai.choice"
	eventPrompt     = "gen_ai.content.prompt"
	eventCompletion = "gen_ai.content.completion"
)

// extract reads the captured content of a span from the first form that
// has it, newest first, separately for the input and the output.
func extract(a attrs, events []*tracepb.Span_Event) content {
	var c content
	// 1. gen_ai.input.messages / gen_ai.output.messages on the span.
	if v, ok := a["gen_ai.input.messages"]; ok {
		c.in, c.inCaptured, c.inForm = parseMessages(jsonOf(v)), true, formMessages
	} else if _, ok := a["gen_ai.system_instructions"]; ok {
		c.inCaptured, c.inForm = true, formMessages
	}
	if v, ok := a["gen_ai.output.messages"]; ok {
		c.out, c.outCaptured, c.outForm = parseMessages(jsonOf(v)), true, formMessages
	}
	// 2. The same attributes on the operation details event.
	for _, ev := range events {
		if ev.GetName() != eventDetails {
			continue
		}
		ea := index(ev.Attributes)
		if v, ok := ea["gen_ai.input.messages"]; ok && !c.inCaptured {
			c.in, c.inCaptured, c.inForm = parseMessages(jsonOf(v)), true, formDetails
		}
		if v, ok := ea["gen_ai.output.messages"]; ok && !c.outCaptured {
			c.out, c.outCaptured, c.outForm = parseMessages(jsonOf(v)), true, formDetails
		}
	}
	// 3. OpenLLMetry's indexed attributes.
	if !c.inCaptured {
		if ms, ok := indexed(a, "gen_ai.prompt."); ok {
			c.in, c.inCaptured, c.inForm = ms, true, formIndexed
		}
	}
	if !c.outCaptured {
		if ms, ok := indexed(a, "gen_ai.completion."); ok {
			c.out, c.outCaptured, c.outForm = ms, true, formIndexed
		}
	}
	// 4. The message events.
	if !c.inCaptured || !c.outCaptured {
		in, out, inOK, outOK := messageEvents(events)
		if inOK && !c.inCaptured {
			c.in, c.inCaptured, c.inForm = in, true, formEvents
		}
		if outOK && !c.outCaptured {
			c.out, c.outCaptured, c.outForm = out, true, formEvents
		}
	}
	// 5. The first conventions' gen_ai.prompt and gen_ai.completion, on the
	// span or on the gen_ai.content.prompt and .completion events.
	if !c.inCaptured {
		if v, ok := promptAttr(a, events, eventPrompt, "gen_ai.prompt"); ok {
			c.in, c.inCaptured, c.inForm = legacyMessages(v, "user"), true, formPrompt
		}
	}
	if !c.outCaptured {
		if v, ok := promptAttr(a, events, eventCompletion, "gen_ai.completion"); ok {
			c.out, c.outCaptured, c.outForm = legacyMessages(v, "assistant"), true, formPrompt
		}
	}
	return c
}

// A wireMessage is a message in any of the JSON shapes of the conventions:
// {"role", "parts": [...], "finish_reason"} (gen_ai.input.messages), or
// {"role", "content", "tool_calls"} (the older events and gen_ai.prompt).
type wireMessage struct {
	Role         string          `json:"role"`
	Parts        []wirePart      `json:"parts"`
	Content      any             `json:"content"`
	ToolCalls    json.RawMessage `json:"tool_calls"`
	FinishReason string          `json:"finish_reason"`
}

// A wirePart is a part of a message: {"type": "text", "content": ...},
// {"type": "tool_call", "name", "arguments"}, or an OpenAI-style content
// part {"type": "text", "text": ...}.
type wirePart struct {
	Type      string          `json:"type"`
	Content   any             `json:"content"`
	Text      *string         `json:"text"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// A wireToolCall is a tool call of the older forms: {"id", "type",
// "function": {"name", "arguments"}}, or {"name", "arguments"}.
type wireToolCall struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Function  *struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// parseMessages reads a gen_ai.input.messages or gen_ai.output.messages
// value: a JSON array of messages. A value that does not decode is no
// messages.
func parseMessages(raw []byte) []message {
	var wms []wireMessage
	if json.Unmarshal(raw, &wms) != nil {
		return nil
	}
	ms := make([]message, 0, len(wms))
	for i := range wms {
		ms = append(ms, wms[i].message(wms[i].Role))
	}
	return ms
}

// message converts wm; role is used when wm names none.
func (wm *wireMessage) message(role string) message {
	m := message{role: role, finish: wm.FinishReason}
	if wm.Role != "" {
		m.role = wm.Role
	}
	for _, p := range wm.Parts {
		switch p.Type {
		case "text", "input_text", "output_text":
			if t := partText(p); t != "" {
				m.texts = append(m.texts, t)
			}
		case "tool_call":
			m.calls = append(m.calls, toolCall{name: p.Name, args: rawArgs(p.Arguments)})
		}
	}
	if t := contentText(wm.Content); t != "" {
		m.texts = append(m.texts, t)
	}
	m.calls = append(m.calls, toolCalls(wm.ToolCalls)...)
	return m
}

// partText returns the text of a text part: its content, or its text.
func partText(p wirePart) string {
	if s, ok := p.Content.(string); ok {
		return s
	}
	if p.Text != nil {
		return *p.Text
	}
	return ""
}

// contentText returns the text of an older message's content: the string
// itself, or the text parts of an array joined by newlines. A string that
// is itself a JSON array of content parts (OpenLLMetry records an array
// content as JSON text) is read as that array.
func contentText(v any) string {
	switch v := v.(type) {
	case string:
		if strings.HasPrefix(v, "[{") {
			var parts []wirePart
			if json.Unmarshal([]byte(v), &parts) == nil {
				if t, ok := partsText(parts); ok {
					return t
				}
			}
		}
		return v
	case []any:
		parts := make([]wirePart, 0, len(v))
		for _, e := range v {
			m, _ := e.(map[string]any)
			p := wirePart{Content: m["content"]}
			p.Type, _ = m["type"].(string)
			if t, ok := m["text"].(string); ok {
				p.Text = &t
			}
			parts = append(parts, p)
		}
		t, _ := partsText(parts)
		return t
	}
	return ""
}

// partsText returns the text parts of content parts, joined by newlines;
// ok is false if a part has no type.
func partsText(parts []wirePart) (string, bool) {
	var texts []string
	for _, p := range parts {
		if p.Type == "" {
			return "", false
		}
		switch p.Type {
		case "text", "input_text", "output_text":
			if t := partText(p); t != "" {
				texts = append(texts, t)
			}
		}
	}
	return strings.Join(texts, "\n"), true
}

// toolCalls reads an older form's tool_calls: a JSON array, or a JSON
// string holding one.
func toolCalls(raw json.RawMessage) []toolCall {
	if len(raw) == 0 {
		return nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		raw = json.RawMessage(s)
	}
	var wcs []wireToolCall
	if json.Unmarshal(raw, &wcs) != nil {
		return nil
	}
	var out []toolCall
	for _, wc := range wcs {
		name, args := wc.Name, wc.Arguments
		if wc.Function != nil {
			name, args = wc.Function.Name, wc.Function.Arguments
		}
		out = append(out, toolCall{name: name, args: rawArgs(args)})
	}
	return out
}

// rawArgs returns the canonical form of a tool call's arguments given as
// JSON: a JSON string is the arguments as the provider sent them; any
// other value (an object) is the arguments themselves. Either is then
// compacted when it is valid JSON (canonicalArgs).
func rawArgs(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return canonicalArgs(s)
	}
	return canonicalArgs(string(raw))
}

// canonicalArgs returns tool-call arguments as the llm package records
// them: compacted with json.Compact when valid JSON, as given otherwise.
func canonicalArgs(s string) string {
	var b bytes.Buffer
	if json.Compact(&b, []byte(s)) != nil {
		return s
	}
	return b.String()
}

// indexed reads OpenLLMetry's indexed attributes under prefix
// ("gen_ai.prompt." or "gen_ai.completion."): N.role, N.content,
// N.finish_reason, N.tool_calls.M.name and .arguments, and the older
// N.function_call.name and .arguments, in the order of N.
func indexed(a attrs, prefix string) ([]message, bool) {
	type calls map[int]*toolCall
	byN := map[int]*message{}
	callsOf := map[int]calls{}
	for key, v := range a {
		rest, ok := strings.CutPrefix(key, prefix)
		if !ok {
			continue
		}
		ns, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(ns)
		if !ok || err != nil || n < 0 || n > 1<<16 {
			continue
		}
		m := byN[n]
		if m == nil {
			m = &message{}
			byN[n] = m
		}
		s := ""
		if sv, isStr := goValue(v).(string); isStr {
			s = sv
		}
		switch {
		case field == "role":
			m.role = s
		case field == "content":
			if t := contentText(s); t != "" {
				m.texts = append(m.texts, t)
			}
		case field == "finish_reason":
			m.finish = s
		case strings.HasPrefix(field, "tool_calls."), strings.HasPrefix(field, "function_call."):
			mi, sub := -1, ""
			if f, ok := strings.CutPrefix(field, "tool_calls."); ok {
				is, sb, _ := strings.Cut(f, ".")
				i, err := strconv.Atoi(is)
				if err != nil || i < 0 || i > 1<<16 {
					continue
				}
				mi, sub = i, sb
			} else {
				sub = strings.TrimPrefix(field, "function_call.")
			}
			if callsOf[n] == nil {
				callsOf[n] = calls{}
			}
			tc := callsOf[n][mi]
			if tc == nil {
				tc = &toolCall{}
				callsOf[n][mi] = tc
			}
			switch sub {
			case "name":
				tc.name = s
			case "arguments":
				tc.args = canonicalArgs(s)
			}
		}
	}
	if len(byN) == 0 {
		return nil, false
	}
	ns := slices.Sorted(maps.Keys(byN))
	ms := make([]message, 0, len(ns))
	for _, n := range ns {
		m := byN[n]
		// function_call (index -1) after the tool calls, as the llm
		// package orders the deprecated function_call last.
		cs := callsOf[n]
		is := slices.Sorted(maps.Keys(cs))
		if len(is) > 0 && is[0] == -1 {
			is = append(is[1:], -1)
		}
		for _, i := range is {
			m.calls = append(m.calls, *cs[i])
		}
		ms = append(ms, *m)
	}
	return ms, true
}

// messageEvents reads the older message events: gen_ai.system.message,
// gen_ai.user.message, gen_ai.assistant.message and gen_ai.tool.message
// for the input, in their order, and gen_ai.choice for the output, in the
// order of their index. An event's body is its attributes ("content",
// "role", "tool_calls"; for a choice "message", "finish_reason",
// "index"), or the JSON object of its gen_ai.event.content attribute.
func messageEvents(events []*tracepb.Span_Event) (in, out []message, inOK, outOK bool) {
	type choice struct {
		index int64
		m     message
	}
	var choices []choice
	for _, ev := range events {
		var role string
		switch ev.GetName() {
		case eventSystem:
			role = "system"
		case eventUser:
			role = "user"
		case eventAssistant:
			role = "assistant"
		case eventTool:
			role = "tool"
		case eventChoice:
		default:
			continue
		}
		body := eventBody(ev)
		if ev.GetName() != eventChoice {
			var wm wireMessage
			_ = json.Unmarshal(body, &wm)
			in, inOK = append(in, wm.message(role)), true
			continue
		}
		var wc struct {
			Index        int64           `json:"index"`
			FinishReason string          `json:"finish_reason"`
			Message      json.RawMessage `json:"message"`
			ToolCalls    json.RawMessage `json:"tool_calls"`
			Content      any             `json:"content"`
		}
		_ = json.Unmarshal(body, &wc)
		var wm wireMessage
		msg := wc.Message
		var s string
		if json.Unmarshal(msg, &s) == nil { // a JSON string attribute
			msg = json.RawMessage(s)
		}
		_ = json.Unmarshal(msg, &wm)
		if wm.Content == nil {
			wm.Content = wc.Content
		}
		if len(wm.ToolCalls) == 0 {
			wm.ToolCalls = wc.ToolCalls
		}
		m := wm.message("assistant")
		m.finish = wc.FinishReason
		choices = append(choices, choice{wc.Index, m})
		outOK = true
	}
	slices.SortStableFunc(choices, func(a, b choice) int { return int(min(max(a.index-b.index, -1), 1)) })
	for _, c := range choices {
		out = append(out, c.m)
	}
	return in, out, inOK, outOK
}

// eventBody returns the body of a message event as a JSON object.
func eventBody(ev *tracepb.Span_Event) []byte {
	ea := index(ev.Attributes)
	if v, ok := ea["gen_ai.event.content"]; ok {
		if raw := jsonOf(v); json.Valid(raw) {
			return raw
		}
	}
	m := make(map[string]any, len(ea))
	for k, v := range ea {
		m[k] = goValue(v)
	}
	b, _ := json.Marshal(m)
	return b
}

// promptAttr returns the value of the first conventions' attribute key on
// the span, or on an event named event.
func promptAttr(a attrs, events []*tracepb.Span_Event, event, key string) (string, bool) {
	if s, ok := goValue(a[key]).(string); ok {
		return s, true
	}
	for _, ev := range events {
		if ev.GetName() == event {
			if s, ok := goValue(index(ev.Attributes)[key]).(string); ok {
				return s, true
			}
		}
	}
	return "", false
}

// legacyMessages reads a gen_ai.prompt or gen_ai.completion value: a JSON
// array of {"role", "content"} messages, or, if it is not one, the whole
// value as one message of the given role.
func legacyMessages(s, role string) []message {
	var wms []wireMessage
	if json.Unmarshal([]byte(s), &wms) == nil {
		ms := make([]message, 0, len(wms))
		for i := range wms {
			ms = append(ms, wms[i].message(role))
		}
		return ms
	}
	return []message{{role: role, texts: []string{s}}}
}

// inputText returns the canonical input: the text of the last user
// message (its text parts joined by newlines), as the llm package records
// by default.
func inputText(ms []message) string {
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].role == "user" {
			return strings.Join(ms[i].texts, "\n")
		}
	}
	return ""
}

// outputText returns the canonical output: the text of each output
// message (its parts joined by newlines), the non-empty ones joined by
// newlines, then one line per tool call,
// {"type":"tool_call","name":NAME,"arguments":ARGS}, as the llm package
// records a response.
func outputText(ms []message) string {
	var parts []string
	for _, m := range ms {
		if t := strings.Join(m.texts, "\n"); t != "" {
			parts = append(parts, t)
		}
	}
	for _, m := range ms {
		for _, tc := range m.calls {
			parts = append(parts, string(renderCall(nil, tc)))
		}
	}
	return strings.Join(parts, "\n")
}

// renderCall appends the canonical rendering of a tool call, Python's
// json.dumps({"type": "tool_call", "name": n, "arguments": a},
// separators=(",", ":")).
func renderCall(dst []byte, tc toolCall) []byte {
	dst = append(dst, `{"type":"tool_call","name":`...)
	dst = line.AppendString(dst, tc.name)
	dst = append(dst, `,"arguments":`...)
	dst = line.AppendString(dst, tc.args)
	return append(dst, '}')
}
