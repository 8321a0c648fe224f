package llm_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/complyhq/comply/llm/llmtest"
)

// TestTimeToFirstToken: a stream's entry records when its first output
// arrived ("ttft_ms"), not its first event; a JSON answer records none.
func TestTimeToFirstToken(t *testing.T) {
	const wait = 80 * time.Millisecond
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		f := w.(http.Flusher)
		send := func(s string) { io.WriteString(w, "data: "+s+"\n\n"); f.Flush() }
		send(`{"id":"c1","model":"gpt-4.1","choices":[{"index":0,"delta":{"role":"assistant","content":""}}]}`)
		time.Sleep(wait) // the role arrives at once, the first token later
		send(`{"id":"c1","model":"gpt-4.1","choices":[{"index":0,"delta":{"content":"Hi"}}]}`)
		time.Sleep(wait)
		send(`{"id":"c1","model":"gpt-4.1","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}`)
		send(`[DONE]`)
	})
	tests := []struct {
		name     string
		handler  http.Handler
		stream   bool
		min, max time.Duration // bounds of ttft_ms; max 0: none recorded
	}{
		{"stream", slow, true, wait, 2 * wait},
		{"fake server stream", &llmtest.Handler{}, true, 0, time.Second},
		{"json", &llmtest.Handler{}, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.handler)
			defer srv.Close()
			tr := newTransport(t)
			if _, _, err := post(t, tr, srv.URL+"/v1/chat/completions", reqBody("chat.completions", tt.stream)); err != nil {
				t.Fatal(err)
			}
			e := oneEntry(t, tr)
			v, ok := meta(t, e)["ttft_ms"].(float64)
			if tt.max == 0 {
				if ok {
					t.Errorf("ttft_ms %v recorded for a JSON answer", v)
				}
				return
			}
			got := time.Duration(v * float64(time.Millisecond))
			if !ok || got < tt.min || got >= tt.max || v > e.LatencyMS {
				t.Errorf("ttft_ms %v (%v), want in [%v, %v) and at most latency_ms %v", v, ok, tt.min, tt.max, e.LatencyMS)
			}
		})
	}
}
