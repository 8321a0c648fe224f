package llm_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func sha(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// sseBody joins events into an event stream; an event is "name\x00data"
// or just data.
func sseBody(events ...string) string {
	var b strings.Builder
	for _, ev := range events {
		if name, data, ok := strings.Cut(ev, "\x00"); ok {
			b.WriteString("event: " + name + "\n")
			ev = data
		}
		b.WriteString("data: " + ev + "\n\n")
	}
	return b.String()
}

// weatherCall is the canonical rendering of the tool call every answer
// below makes.
const weatherCall = `{"type":"tool_call","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}`

// TestToolCallEvidence: a response that calls a tool, in every API, plain
// and streamed, is logged with the tool call in its output (so the output
// hash is not that of ""), and with the tool's name and the hash of its
// arguments in the metadata; the arguments themselves never reach the
// metadata.
func TestToolCallEvidence(t *testing.T) {
	const chatChunk = `{"id":"chatcmpl-1","object":"chat.completion.chunk","model":"gpt-4.1","choices":[{"index":0,"delta":%s,"finish_reason":%s}]}`
	chunk := func(delta, finish string) string {
		return strings.Replace(strings.Replace(chatChunk, "%s", delta, 1), "%s", finish, 1)
	}
	cases := []struct {
		name, api string
		stream    bool
		body      string
		want      string // the output recorded
	}{
		{"chat", "chat.completions", false,
			`{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4.1","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":5,"completion_tokens":7}}`,
			weatherCall},
		{"chat legacy function_call", "chat.completions", false,
			`{"id":"chatcmpl-1","object":"chat.completion","model":"gpt-4.1","choices":[{"index":0,"message":{"role":"assistant","content":null,"function_call":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},"finish_reason":"function_call"}]}`,
			weatherCall},
		{"chat stream", "chat.completions", true, sseBody(
			chunk(`{"role":"assistant","content":null,"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":""}}]}`, "null"),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": "}}]}`, "null"),
			chunk(`{"tool_calls":[{"index":0,"function":{"arguments":"\"Paris\"}"}}]}`, "null"),
			chunk(`{}`, `"tool_calls"`),
			"[DONE]"),
			weatherCall},
		{"chat stream with text", "chat.completions", true, sseBody(
			chunk(`{"role":"assistant","content":"Checking."}`, "null"),
			chunk(`{"tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}`, "null"),
			chunk(`{}`, `"tool_calls"`),
			"[DONE]"),
			"Checking.\n" + weatherCall},
		{"responses", "responses", false,
			`{"id":"resp_1","object":"response","status":"completed","model":"gpt-4.1","output":[{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"}],"usage":{"input_tokens":5,"output_tokens":7}}`,
			weatherCall},
		{"responses stream", "responses", true, sseBody(
			"response.created\x00"+`{"type":"response.created","response":{"id":"resp_1","model":"gpt-4.1","status":"in_progress","output":[]}}`,
			"response.output_item.added\x00"+`{"type":"response.output_item.added","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"","status":"in_progress"}}`,
			"response.function_call_arguments.delta\x00"+`{"type":"response.function_call_arguments.delta","output_index":0,"item_id":"fc_1","delta":"{\"city\":"}`,
			"response.function_call_arguments.delta\x00"+`{"type":"response.function_call_arguments.delta","output_index":0,"item_id":"fc_1","delta":"\"Paris\"}"}`,
			"response.function_call_arguments.done\x00"+`{"type":"response.function_call_arguments.done","output_index":0,"item_id":"fc_1","arguments":"{\"city\":\"Paris\"}"}`,
			"response.output_item.done\x00"+`{"type":"response.output_item.done","output_index":0,"item":{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"}}`,
			"response.completed\x00"+`{"type":"response.completed","response":{"id":"resp_1","model":"gpt-4.1","status":"completed","output":[{"type":"function_call","id":"fc_1","call_id":"call_1","name":"get_weather","arguments":"{\"city\":\"Paris\"}","status":"completed"}],"usage":{"input_tokens":5,"output_tokens":7}}}`),
			weatherCall},
		{"messages", "messages", false,
			`{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{"city":"Paris"}}],"stop_reason":"tool_use","usage":{"input_tokens":10,"output_tokens":20}}`,
			"Checking.\n" + weatherCall},
		{"messages stream", "messages", true, sseBody(
			"message_start\x00"+`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-sonnet-4-5","content":[],"usage":{"input_tokens":10,"output_tokens":1}}}`,
			"content_block_start\x00"+`{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`,
			"content_block_delta\x00"+`{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking."}}`,
			"content_block_stop\x00"+`{"type":"content_block_stop","index":0}`,
			"content_block_start\x00"+`{"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_1","name":"get_weather","input":{}}}`,
			"content_block_delta\x00"+`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}}`,
			"content_block_delta\x00"+`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"city\": "}}`,
			"content_block_delta\x00"+`{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"\"Paris\"}"}}`,
			"content_block_stop\x00"+`{"type":"content_block_stop","index":1}`,
			"message_delta\x00"+`{"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":20}}`,
			"message_stop\x00"+`{"type":"message_stop"}`),
			"Checking.\n" + weatherCall},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.stream {
					w.Header().Set("Content-Type", "text/event-stream")
				} else {
					w.Header().Set("Content-Type", "application/json")
				}
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			tr := newTransport(t)
			resp, got, err := post(t, tr, srv.URL+apiPath(tc.api), reqBody(tc.api, tc.stream))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 || string(got) != tc.body {
				t.Errorf("caller got %d %q", resp.StatusCode, got)
			}
			e := oneEntry(t, tr)
			if !e.SafetyPassed {
				t.Errorf("block_reason %q", e.BlockReason)
			}
			if e.OutputHash != sha(tc.want) {
				t.Errorf("output_hash %s, want the hash of %q (the hash of \"\" is %s)", e.OutputHash, tc.want, sha(""))
			}
			md := meta(t, e)
			want := []any{map[string]any{"name": "get_weather", "arguments_hash": sha(`{"city":"Paris"}`)}}
			if !reflect.DeepEqual(md["tool_calls"], want) {
				t.Errorf("tool_calls %v, want %v", md["tool_calls"], want)
			}
			if strings.Contains(string(e.Metadata), "Paris") {
				t.Errorf("the arguments reached the metadata: %s", e.Metadata)
			}
		})
	}
}

// TestStreamAsked: "stream" records what the request asked, also when the
// upstream answers with an HTTP error in JSON.
func TestStreamAsked(t *testing.T) {
	for _, api := range apis {
		for _, stream := range []bool{false, true} {
			t.Run(api, func(t *testing.T) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusTooManyRequests)
					io.WriteString(w, `{"error":{"message":"Rate limit reached","type":"requests"}}`)
				}))
				defer srv.Close()
				tr := newTransport(t)
				if _, _, err := post(t, tr, srv.URL+apiPath(api), reqBody(api, stream)); err != nil {
					t.Fatal(err)
				}
				if md := meta(t, oneEntry(t, tr)); md["stream"] != stream {
					t.Errorf("stream %v, want %v", md["stream"], stream)
				}
			})
		}
	}
}
