package llm_test

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"

	"github.com/complyhq/comply/llm"
)

func compress(t *testing.T, enc string, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	switch enc {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "deflate":
		w = zlib.NewWriter(&b)
	case "raw-deflate":
		w, _ = flate.NewWriter(&b, flate.DefaultCompression)
	case "br":
		w = brotli.NewWriter(&b)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// echoUpstream answers a chat completion, after reading the request body,
// and keeps the bytes it got.
func echoUpstream(t *testing.T, got *[]byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		*got, _ = io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","model":"gpt-4.1","choices":[{"index":0,"message":{"content":"ok"},"finish_reason":"stop"}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCompressedRequest: a request body in gzip, deflate or br is decoded
// before it is parsed and hashed, and sent upstream unchanged; one that
// decodes to more than the bound (a zip bomb) is hashed as sent, with an
// alert, without decoding it whole.
func TestCompressedRequest(t *testing.T) {
	const msg = "Hello, compressed world!"
	plain := []byte(`{"model":"gpt-4.1","messages":[{"role":"user","content":"` + msg + `"}]}`)
	bomb := []byte(`{"model":"gpt-4.1","messages":[{"role":"user","content":"` + strings.Repeat("a", 8<<20) + `"}]}`)
	tests := []struct {
		name, enc, header string
		body              []byte
		wantHash          func(sent []byte) string
		wantAlert         string
	}{
		{"gzip", "gzip", "gzip", plain, func([]byte) string { return sha(msg) }, ""},
		{"deflate", "deflate", "deflate", plain, func([]byte) string { return sha(msg) }, ""},
		{"raw deflate", "raw-deflate", "deflate", plain, func([]byte) string { return sha(msg) }, ""},
		{"br", "br", "br", plain, func([]byte) string { return sha(msg) }, ""},
		{"bomb", "gzip", "gzip", bomb, func(sent []byte) string { return sha(string(sent)) }, "decodes to more than 1048576 bytes"},
		{"unknown encoding", "gzip", "zstd", plain, func(sent []byte) string { return sha(string(sent)) }, "unsupported Content-Encoding zstd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			srv := echoUpstream(t, &got)
			tr := newTransport(t)
			tr.MaxRequestBody = 1 << 20
			sent := compress(t, tt.enc, tt.body)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/chat/completions", bytes.NewReader(sent))
			req.Header.Set("Content-Encoding", tt.header)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, sent) {
				t.Errorf("the upstream got %d bytes, not the %d sent", len(got), len(sent))
			}
			e := oneEntry(t, tr)
			if e.InputHash != tt.wantHash(sent) {
				t.Errorf("input_hash %s, want %s", e.InputHash, tt.wantHash(sent))
			}
			alerts := strings.Join(e.Alerts, "; ")
			if tt.wantAlert == "" && alerts != "" || !strings.Contains(alerts, tt.wantAlert) {
				t.Errorf("alerts %q, want %q", alerts, tt.wantAlert)
			}
			if tt.wantAlert == "" && e.Model != "gpt-4.1" {
				t.Errorf("model %q: the body was not parsed", e.Model)
			}
		})
	}
}

// TestStreamedRequestHash: a body larger than MaxRequestBody, or than
// the memory left in MaxBuffered, goes upstream unchanged and its entry
// has the hash of the whole body, of known length or not.
func TestStreamedRequestHash(t *testing.T) {
	big := []byte(`{"model":"gpt-4.1","messages":[{"role":"user","content":"` + strings.Repeat("xyz", 1<<20) + `"}]}`)
	tests := []struct {
		name        string
		maxBody     int64
		maxBuffered int64
		chunked     bool
		wantAlert   string
	}{
		{"over MaxRequestBody", 1 << 20, 0, false, "larger than 1048576 bytes"},
		{"over MaxRequestBody, chunked", 1 << 20, 0, true, "larger than 1048576 bytes"},
		{"over the budget", 0, 1 << 20, false, "over the memory budget"},
		{"over the budget, chunked", 0, 1 << 20, true, "over the memory budget"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []byte
			srv := echoUpstream(t, &got)
			tr := newTransport(t)
			tr.MaxRequestBody, tr.MaxBuffered = tt.maxBody, tt.maxBuffered
			var body io.Reader = bytes.NewReader(big)
			if tt.chunked {
				body = io.MultiReader(body) // hides the length
			}
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/chat/completions", body)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if !bytes.Equal(got, big) {
				t.Errorf("the upstream got %d bytes, not the %d sent", len(got), len(big))
			}
			e := oneEntry(t, tr)
			if e.InputHash != sha(string(big)) {
				t.Errorf("input_hash %s, want the hash of the whole body %s (of \"\": %s)", e.InputHash, sha(string(big)), sha(""))
			}
			if len(e.Alerts) != 1 || !strings.Contains(e.Alerts[0], tt.wantAlert) {
				t.Errorf("alerts %q", e.Alerts)
			}
			if st := tr.Stats(); st.Streamed != 1 || st.Buffered != 0 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// TestStreamedRequestUnread: a streamed body the upstream never reads
// (it answers at once) is still hashed whole.
func TestStreamedRequestUnread(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		io.WriteString(w, `{"error":{"message":"too large","type":"invalid_request_error"}}`)
	}))
	defer srv.Close()
	big := bytes.Repeat([]byte("q"), 4<<20)
	tr := newTransport(t)
	tr.MaxRequestBody = 1 << 20
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.URL+"/v1/chat/completions", bytes.NewReader(big))
	resp, err := tr.RoundTrip(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	e := oneEntry(t, tr)
	if e.InputHash != sha(string(big)) {
		t.Errorf("input_hash %s, want the hash of the whole body", e.InputHash)
	}
	_ = llm.DefaultMaxBuffered
}
