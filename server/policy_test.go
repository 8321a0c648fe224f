package server_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/server"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/memstore"
)

// TestServerRoutesPolicy: the server names each front end's route, so one
// policy treats the entries API and each proxy upstream differently.
func TestServerRoutesPolicy(t *testing.T) {
	p, err := policy.Parse([]byte(`
default: {require: [user_id], missing: reject}
rules:
  - {name: quiet, match: {route: proxy/quiet}, level: none, require: []}
  - {name: loud, match: {route: proxy/loud}, require: []}
  - {name: api, match: {route: api}, level: metadata}
`))
	if err != nil {
		t.Fatal(err)
	}
	l, err := comply.New(memstore.New(0), &comply.Options{Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	up := llmtest.NewServer()
	defer up.Close()
	u, _ := url.Parse(up.URL)
	srv, err := server.New(server.Options{Logger: l, InsecureNoAuth: true, Access: &recorder{}, Log: slog.New(slog.DiscardHandler),
		Upstreams: []server.Upstream{{Name: "quiet", URL: u}, {Name: "loud", URL: u}}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	chat := `{"model": "gpt-4", "messages": [{"role": "user", "content": "Hello!"}]}`
	tests := []struct {
		name, path, body string
		status           int
		want             string // in the answer
		entries          int64  // stored after the request
	}{
		{"quiet upstream: counted", "/proxy/quiet/v1/chat/completions", chat, 200, "", 0},
		{"loud upstream: hashed", "/proxy/loud/v1/chat/completions", chat, 200, "", 1},
		{"api: metadata", "/v1/entries", `[{"input": "x", "metadata": {"user_id": "u"}}]`, 200, `"ids"`, 2},
		{"api: rejected", "/v1/entries", `[{"input": "x"}]`, 400, "missing required metadata", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := ts.Client().Post(ts.URL+tt.path, "application/json", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status || !strings.Contains(string(b), tt.want) {
				t.Fatalf("%d %s; want %d with %q", resp.StatusCode, b, tt.status, tt.want)
			}
			// A proxied call's entry may land after the client has its
			// whole answer: wait for it.
			n, _ := l.Count(t.Context())
			for deadline := time.Now().Add(5 * time.Second); n != tt.entries && time.Now().Before(deadline); n, _ = l.Count(t.Context()) {
				time.Sleep(10 * time.Millisecond)
			}
			if n != tt.entries {
				t.Fatalf("%d entries, want %d", n, tt.entries)
			}
		})
	}
	var hashes []string
	for e, err := range l.Entries(t.Context(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, e.InputHash)
	}
	if len(hashes) != 2 || hashes[0] == "" || hashes[1] != "" {
		t.Errorf("input hashes %q: want the proxy's hashed, the API's empty (level metadata)", hashes)
	}
	var counts []policy.Count
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if counts, err = policy.ReadCounts(t.Context(), l.Store().(store.Sidecar), time.Time{}, time.Time{}); err != nil || len(counts) == 1 {
			break
		}
	}
	if err != nil || len(counts) != 1 || counts[0].Rule != "quiet" || counts[0].Count != 1 {
		t.Errorf("counts %+v, %v; want 1 of rule quiet", counts, err)
	}
}
