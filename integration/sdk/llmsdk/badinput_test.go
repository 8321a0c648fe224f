package llmsdk_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
)

// TestMalformedUpstreamSDK: the SDK reports a 200 response that is not
// what the API promises, and one entry records the call. Package llm's
// TestMalformedUpstream checks the bytes and the entry's reason.
func TestMalformedUpstreamSDK(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": 12`)
	}))
	defer srv.Close()
	tr := newTransport(t)
	c := openaiClient(srv.URL, tr, false)
	if _, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: "gpt-4.1", Messages: chatMessages}); err == nil {
		t.Errorf("SDK accepted a malformed body")
	}
	oneEntry(t, tr)
}

// cutServer streams the first events of a chat completion, then cuts the
// connection.
func cutServer(t *testing.T) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, word := range []string{"Hello", " there"} {
			fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", word)
		}
		io.WriteString(w, "data: {\"id\":\"chatcmpl-1\",\"choi") // half an event
		w.(http.Flusher).Flush()
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}))
}

// TestStreamCutSDK: a stream cut halfway is an error of the SDK's stream,
// and one entry records the call. Package llm's TestStreamCut checks the
// bytes and the entry.
func TestStreamCutSDK(t *testing.T) {
	srv := cutServer(t)
	defer srv.Close()
	tr := newTransport(t)
	c := openaiClient(srv.URL, tr, false)
	s := c.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: "gpt-4.1", Messages: chatMessages})
	for s.Next() {
	}
	if s.Err() == nil {
		t.Errorf("SDK stream reported no error")
	}
	s.Close()
	oneEntry(t, tr)
}

// TestFailClosedSDK: when the entry cannot be written, the SDKs never see
// a successful response. Package llm's TestFailClosed checks raw readers.
func TestFailClosedSDK(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	for _, tc := range sdkCases {
		t.Run(tc.name, func(t *testing.T) {
			tr, errs := newFailingTransport(t, false)
			_, err := tc.call(t.Context(), srv.URL, tr)
			if !errors.Is(err, llm.ErrNotLogged) || !errors.Is(err, errDiskFull) {
				t.Errorf("SDK error = %v, want one wrapping ErrNotLogged and the store's error", err)
			}
			if len(*errs) != 1 {
				t.Errorf("OnError called %d times", len(*errs))
			}
			if st := tr.Stats(); st.WriteFailed != 1 || st.FailedOpen != 0 || st.Logged != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestFailOpen: the calls go on, and the failures are counted and
// reported.
func TestFailOpen(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	tr, errs := newFailingTransport(t, true)
	for _, tc := range sdkCases {
		if got, err := tc.call(t.Context(), srv.URL, tr); err != nil || got != llmtest.DefaultText {
			t.Errorf("%s: got %q, %v", tc.name, got, err)
		}
	}
	n := int64(len(sdkCases))
	if st := tr.Stats(); st.Audited != n || st.Logged != 0 || st.WriteFailed != n || st.FailedOpen != n || st.FailedInARow != n || st.LastFailure.IsZero() {
		t.Errorf("stats %+v", st)
	}
	if len(*errs) != len(sdkCases) || !errors.Is((*errs)[0], llm.ErrNotLogged) {
		t.Errorf("OnError got %d errors: %v", len(*errs), *errs)
	}
}
