package llm

import (
	"fmt"
	"strings"
	"testing"
)

type sseEvent struct{ name, data string }

// parseAll feeds s to a parser in chunks of n bytes (all at once if n is
// 0) and returns the events and the offset in s where the parser cut.
func parseAll(s string, n, max int, lastData string) (events []sseEvent, cutAt int) {
	cutAt = -1
	p := &sseParser{max: max, onEvent: func(name string, data []byte) bool {
		events = append(events, sseEvent{name, string(data)})
		return string(data) == lastData
	}}
	if n <= 0 {
		n = len(s) + 1
	}
	for off := 0; off < len(s); off += n {
		chunk := s[off:min(off+n, len(s))]
		if cut, last := p.feed([]byte(chunk)); last {
			return events, off + cut
		}
	}
	return events, cutAt
}

func TestSSEParser(t *testing.T) {
	stream := "event: message_start\ndata: {\"a\":1}\n\n" +
		": comment\n\n" +
		"data: line1\r\ndata: line2\r\n\r\n" +
		"data:nospace\n\n" +
		"event: empty\n\n" + // no data: not dispatched
		"data: [DONE]\n\n" +
		"data: after\n\n"
	want := []sseEvent{{"message_start", `{"a":1}`}, {"", "line1\nline2"}, {"", "nospace"}, {"", "[DONE]"}}
	wantCut := strings.Index(stream, "data: [DONE]\n") + len("data: [DONE]\n")
	for n := 0; n <= len(stream); n++ {
		got, cut := parseAll(stream, n, 1<<20, "[DONE]")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("chunks of %d: events %q, want %q", n, got, want)
		}
		if cut != wantCut {
			t.Fatalf("chunks of %d: cut at %d, want %d", n, cut, wantCut)
		}
	}
}

func TestSSEParserBound(t *testing.T) {
	long := strings.Repeat("x", 100)
	stream := "data: " + long + "\n\ndata: short\n\n"
	for n := 0; n <= len(stream); n++ {
		var dropped int
		var got []sseEvent
		p := &sseParser{max: 50, onEvent: func(name string, data []byte) bool {
			got = append(got, sseEvent{name, string(data)})
			return false
		}}
		chunk := len(stream)
		if n > 0 {
			chunk = n
		}
		for off := 0; off < len(stream); off += chunk {
			p.feed([]byte(stream[off:min(off+chunk, len(stream))]))
		}
		dropped = p.dropped
		if fmt.Sprint(got) != fmt.Sprint([]sseEvent{{"", "short"}}) || dropped != 1 {
			t.Fatalf("chunks of %d: events %q, dropped %d", n, got, dropped)
		}
	}
}

// FuzzSSEParser: any split of a stream gives the same events as the whole,
// and nothing panics.
func FuzzSSEParser(f *testing.F) {
	f.Add("event: a\ndata: 1\n\ndata: [DONE]\n\n", 3)
	f.Add("data: x\r\n\r\n:c\n\ndata\n\n", 1)
	f.Add(strings.Repeat("data: y\n", 40)+"\n", 7)
	f.Add("data: "+strings.Repeat("z", 60)+"\n\ndata: [DONE]\n\n", 30)
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 1 || n > len(s) {
			n = 1
		}
		whole, cut1 := parseAll(s, 0, 64, "[DONE]")
		split, cut2 := parseAll(s, n, 64, "[DONE]")
		if fmt.Sprint(whole) != fmt.Sprint(split) || cut1 != cut2 {
			t.Fatalf("whole %q cut %d, in chunks of %d %q cut %d", whole, cut1, n, split, cut2)
		}
	})
}

// FuzzParseRequest: no request body makes the parser panic.
func FuzzParseRequest(f *testing.F) {
	f.Add(`{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]}`)
	f.Add(`{"model":"m","input":[{"role":"user","content":"x"}],"instructions":"i"}`)
	f.Add(`{"model":1,"messages":"x","system":[{"type":"text"}]}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, a := range []api{apiChat, apiResponses, apiMessages} {
			parseRequest(a, []byte(body), LastUserMessage)
			parseRequest(a, []byte(body), WholeConversation)
		}
	})
}

// FuzzResponse: no response body or event makes the parsers panic.
func FuzzResponse(f *testing.F) {
	f.Add(`{"choices":[{"index":0,"message":{"content":"hi","refusal":null},"finish_reason":"stop"}],"usage":{"prompt_tokens":1}}`)
	f.Add(`{"type":"message_delta","delta":{"stop_reason":"refusal"},"usage":{"output_tokens":3}}`)
	f.Add(`{"type":"response.completed","response":{"status":"incomplete","incomplete_details":{"reason":"content_filter"}}}`)
	f.Fuzz(func(t *testing.T, body string) {
		for _, a := range []api{apiChat, apiResponses, apiMessages} {
			r := &result{api: a, max: 1 << 10}
			r.parseJSON([]byte(body))
			r.event("", []byte(body))
			r.outcome(200, nil, false, false)
			r.text()
		}
	})
}

func TestToolCalls(t *testing.T) {
	r := &result{api: apiChat, max: 1 << 10}
	r.parseJSON([]byte(`{"id":"chatcmpl-1","model":"gpt-4.1","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7}}`))
	if fmt.Sprint(r.toolCalls()) != `[{get_weather {"city":"Paris"}}]` || r.finish != "tool_calls" || !r.complete {
		t.Errorf("chat: tools %q finish %q complete %v", r.toolCalls(), r.finish, r.complete)
	}
	r = &result{api: apiMessages, max: 1 << 10}
	for _, ev := range []string{
		`{"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5","usage":{"input_tokens":10,"output_tokens":1}}}`,
		`{"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}`,
		`{"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"city\":"}}`,
		`{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":20}}`,
		`{"type":"message_stop"}`,
	} {
		r.event("", []byte(ev))
	}
	if fmt.Sprint(r.toolCalls()) != `[{get_weather {"city":}]` || r.finish != "tool_use" || !r.complete || *r.outTok != 20 || *r.inTok != 10 {
		t.Errorf("messages: tools %q finish %q complete %v", r.toolCalls(), r.finish, r.complete)
	}
	if o := r.outcome(200, nil, false, false); o != (outcome{}) {
		t.Errorf("outcome %+v", o)
	}
}
