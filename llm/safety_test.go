package llm_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
)

// Request bodies of the three APIs, plain and streamed.
func reqBody(api string, stream bool) string {
	s := ""
	if stream {
		s = `,"stream":true`
	}
	switch api {
	case "responses":
		return `{"model":"gpt-4.1","input":[{"role":"user","content":"Hello!"}]` + s + `}`
	case "messages":
		return `{"model":"claude-sonnet-4-5","max_tokens":1024,"messages":[{"role":"user","content":[{"type":"text","text":"Hello!"}]}]` + s + `}`
	}
	if stream {
		s += `,"stream_options":{"include_usage":true}`
	}
	return `{"model":"gpt-4.1","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello!"}]` + s + `}`
}

func apiPath(api string) string {
	switch api {
	case "responses":
		return "/v1/responses"
	case "messages":
		return "/v1/messages"
	}
	return "/v1/chat/completions"
}

// post sends body to url through rt and reads the whole response.
func post(t *testing.T, rt http.RoundTripper, url, body string, hdr ...string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiKey)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

var apis = []string{"chat.completions", "responses", "messages"}

// TestSafetyFailures: refusals, content filters and HTTP errors are logged
// with safety_passed=false and the reason, in every API, plain and
// streamed; the caller gets the upstream's bytes unchanged.
func TestSafetyFailures(t *testing.T) {
	cases := []struct {
		name     string
		setup    func(h *llmtest.Handler)
		reason   map[string]string // by API; "" key for all
		detector string
		output   string
	}{
		{
			name:     "refusal",
			setup:    func(h *llmtest.Handler) { h.Refusal = "I'm sorry, I can't help with that." },
			reason:   map[string]string{"": "refusal: I'm sorry, I can't help with that."},
			detector: "refusal",
			output:   "I'm sorry, I can't help with that.",
		},
		{
			name:     "content filter",
			setup:    func(h *llmtest.Handler) { h.FinishReason = "content_filter" },
			reason:   map[string]string{"": "finish_reason: content_filter", "messages": ""},
			detector: "content_filter",
			output:   llmtest.DefaultText,
		},
	}
	for _, tc := range cases {
		for _, api := range apis {
			for _, stream := range []bool{false, true} {
				name := tc.name + "/" + api
				if stream {
					name += "/stream"
				}
				t.Run(name, func(t *testing.T) {
					direct := llmtest.NewServer()
					defer direct.Close()
					tc.setup(direct.Handler)
					tr := newTransport(t)
					tr.Base = direct.Client().Transport
					body := reqBody(api, stream)
					url := direct.URL + apiPath(api)
					_, want, err := post(t, direct.Client().Transport, url, body)
					if err != nil {
						t.Fatal(err)
					}
					_, got, err := post(t, tr, url, body)
					if err != nil {
						t.Fatal(err)
					}
					if string(got) != string(want) {
						t.Errorf("caller's bytes differ from the upstream's:\n got %q\nwant %q", got, want)
					}
					e := oneEntry(t, tr)
					reason, ok := tc.reason[api]
					if !ok {
						reason = tc.reason[""]
					}
					if reason == "" {
						// Anthropic has no content filter stop reason: a
						// normal answer.
						if !e.SafetyPassed {
							t.Errorf("safety failed: %q", e.BlockReason)
						}
						return
					}
					if e.SafetyPassed || e.BlockReason != reason {
						t.Errorf("safety_passed=%v block_reason=%q, want false, %q", e.SafetyPassed, e.BlockReason, reason)
					}
					if len(e.DetectorsTriggered) != 1 || e.DetectorsTriggered[0] != tc.detector {
						t.Errorf("detectors %q, want [%s]", e.DetectorsTriggered, tc.detector)
					}
					if e.OutputHash != tr.Logger.Hash(tc.output) {
						t.Errorf("output hash is not that of %q", tc.output)
					}
					if e.InputHash != tr.Logger.Hash("Hello!") {
						t.Errorf("input hash is not that of the last user message")
					}
				})
			}
		}
	}
}

// TestHTTPErrors: an error status is a response for the caller and a
// failed entry with the API's error message; keys in it are redacted.
func TestHTTPErrors(t *testing.T) {
	cases := []struct {
		api, body string
		status    int
		reason    string
		filtered  bool // a content policy's error: also a safety failure
	}{
		{"chat.completions", `{"error":{"message":"Rate limit reached for gpt-4.1 in organization org-abc on tokens per min (TPM): Limit 30000, Used 30000, Requested 12.","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`,
			429, "http 429: Rate limit reached for gpt-4.1 in organization org-abc on tokens per min (TPM): Limit 30000, Used 30000, Requested 12.", false},
		{"chat.completions", `{"error":{"message":"Incorrect API key provided: sk-test-********************mnop. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			401, "http 401: Incorrect API key provided: sk-[redacted]. You can find your API key at https://platform.openai.com/account/api-keys.", false},
		{"messages", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, 529, "http 529: Overloaded", false},
		{"responses", `<html><body>502 Bad Gateway</body></html>`, 502, "http 502: <html><body>502 Bad Gateway</body></html>", false},
		{"messages", `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key ` + apiKey + `"}}`, 401, "http 401: invalid x-api-key [redacted]", false},
		{"chat.completions", `{"error":{"message":"The response was filtered due to the prompt triggering content management policy.","type":null,"param":"prompt","code":"content_filter","status":400}}`,
			400, "http 400: The response was filtered due to the prompt triggering content management policy.", true},
	}
	for _, tc := range cases {
		t.Run(tc.api+"/"+http.StatusText(tc.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			tr := newTransport(t)
			resp, got, err := post(t, tr, srv.URL+apiPath(tc.api), reqBody(tc.api, false), "X-Api-Key", apiKey)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tc.status || string(got) != tc.body {
				t.Errorf("caller got %d %q", resp.StatusCode, got)
			}
			e := oneEntry(t, tr)
			em, _ := meta(t, e)["error"].(map[string]any)
			if em["type"] != llm.ErrorHTTP || em["status"] != float64(tc.status) || em["message"] != tc.reason || !slices.Contains(e.Alerts, tc.reason) {
				t.Errorf("error %v, alerts %q, want http %d %q", em, e.Alerts, tc.status, tc.reason)
			}
			switch {
			case tc.filtered && (e.SafetyPassed || e.BlockReason != tc.reason || !slices.Equal(e.DetectorsTriggered, []string{"content_filter"})):
				t.Errorf("content policy error: safety_passed=%v block_reason %q detectors %q", e.SafetyPassed, e.BlockReason, e.DetectorsTriggered)
			case !tc.filtered && (!e.SafetyPassed || e.BlockReason != ""):
				t.Errorf("an HTTP error recorded as a safety failure: %q", e.BlockReason)
			}
			if strings.Contains(string(e.Metadata)+e.BlockReason, "sk-test") {
				t.Errorf("the API key reached the entry")
			}
			if md := meta(t, e); md["http_status"] != float64(tc.status) {
				t.Errorf("http_status %v", md["http_status"])
			}
		})
	}
}

// TestWholeConversation records the conversation as sent.
func TestWholeConversation(t *testing.T) {
	cases := []struct{ api, want string }{
		{"chat.completions", `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hello!"}]}`},
		{"responses", `{"input":[{"role":"user","content":"Hello!"}]}`},
		{"messages", `{"messages":[{"role":"user","content":[{"type":"text","text":"Hello!"}]}]}`},
	}
	for _, tc := range cases {
		t.Run(tc.api, func(t *testing.T) {
			srv := llmtest.NewServer()
			defer srv.Close()
			tr := newTransport(t)
			tr.Input = llm.WholeConversation
			if _, _, err := post(t, tr, srv.URL+apiPath(tc.api), reqBody(tc.api, false)); err != nil {
				t.Fatal(err)
			}
			if e := oneEntry(t, tr); e.InputHash != tr.Logger.Hash(tc.want) {
				t.Errorf("input is not %s", tc.want)
			}
		})
	}
}

// TestInputExtraction covers the content shapes of the last user message.
func TestInputExtraction(t *testing.T) {
	cases := []struct{ name, api, body, want string }{
		{"chat parts", "chat.completions", `{"model":"m","messages":[{"role":"user","content":"first"},{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"data:,"}},{"type":"text","text":"b"}]},{"role":"assistant","content":"x"}]}`, "a\nb"},
		{"chat no user", "chat.completions", `{"model":"m","messages":[{"role":"system","content":"s"}]}`, ""},
		{"responses string", "responses", `{"model":"m","input":"Hi there","instructions":"Be brief."}`, "Hi there"},
		{"responses parts", "responses", `{"model":"m","input":[{"type":"message","role":"user","content":[{"type":"input_text","text":"q"}]}]}`, "q"},
		{"messages tool result", "messages", `{"model":"m","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"42 degrees"}]}]}`, "42 degrees"},
		{"not JSON", "chat.completions", `{"model":`, `{"model":`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := llmtest.NewServer()
			defer srv.Close()
			tr := newTransport(t)
			if _, _, err := post(t, tr, srv.URL+apiPath(tc.api), tc.body); err != nil {
				t.Fatal(err)
			}
			if e := oneEntry(t, tr); e.InputHash != tr.Logger.Hash(tc.want) {
				t.Errorf("input is not %q", tc.want)
			}
		})
	}
}

// TestMalformedClientJSON: the upstream's 400 reaches the caller and the
// entry records the body as sent, with an alert.
func TestMalformedClientJSON(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	tr := newTransport(t)
	resp, got, err := post(t, tr, srv.URL+"/v1/chat/completions", `{"model": "gpt-4.1", "messages": [`)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 400 || !json.Valid(got) {
		t.Errorf("caller got %d %s", resp.StatusCode, got)
	}
	e := oneEntry(t, tr)
	if typ, msg := failure(t, e); typ != llm.ErrorHTTP || msg != "http 400: We could not parse the JSON body of your request." {
		t.Errorf("error %s %q", typ, msg)
	}
	if len(e.Alerts) == 0 || !strings.Contains(e.Alerts[0], "not valid JSON") {
		t.Errorf("alerts %q", e.Alerts)
	}
	if e.InputHash != tr.Logger.Hash(`{"model": "gpt-4.1", "messages": [`) {
		t.Errorf("input is not the body as sent")
	}
}

// TestPassthrough: other requests are not audited, but X-Comply-* headers
// never reach the upstream, and the caller's request is not modified.
func TestPassthrough(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	tr := newTransport(t)
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL+"/v1/models", nil)
	req.Header.Set(llm.HeaderConversationID, "c")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if req.Header.Get(llm.HeaderConversationID) != "c" {
		t.Errorf("the caller's request was modified")
	}
	noComplyHeaders(t, srv.Requests()[0].Header)
	if n := len(entries(t, tr)); n != 0 {
		t.Errorf("%d entries", n)
	}
	if st := tr.Stats(); st.Passthrough != 1 || st.Audited != 0 {
		t.Errorf("stats %+v", st)
	}
}
