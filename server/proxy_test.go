package server_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/server"
)

func TestProxyUpstreams(t *testing.T) {
	openai, anthropic := llmtest.NewServer(), llmtest.NewServer()
	defer openai.Close()
	defer anthropic.Close()
	ou, _ := url.Parse(openai.URL)
	au, _ := url.Parse(anthropic.URL)
	e := newEnv(t, envOpts{opts: func(o *server.Options) {
		o.Upstreams = []server.Upstream{{Name: "openai", URL: ou, Input: llm.LastUserMessage}, {Name: "anthropic", URL: au}}
	}})
	call := func(path, token, body string) (int, string) {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", e.ts.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer sk-upstream-key")
		if token != "" {
			req.Header.Set(server.TokenHeader, token)
		}
		resp, err := e.ts.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, b.String()
	}
	chat := `{"model": "gpt-4", "messages": [{"role": "user", "content": "Hello!"}]}`
	msg := `{"model": "claude-x", "max_tokens": 10, "messages": [{"role": "user", "content": "Hi"}]}`
	tests := []struct {
		path, token, body string
		status            int
	}{
		{"/proxy/openai/v1/chat/completions", "ingest-secret", chat, 200},
		{"/proxy/anthropic/v1/messages", "admin-secret", msg, 200},
		{"/proxy/openai/v1/chat/completions", "", chat, 401},
		{"/proxy/openai/v1/chat/completions", "read-secret", chat, 403},
		{"/proxy/nowhere/v1/chat/completions", "ingest-secret", chat, 404},
	}
	for _, tt := range tests {
		if status, body := call(tt.path, tt.token, tt.body); status != tt.status {
			t.Errorf("%s: %d %s, want %d", tt.path, status, body, tt.status)
		}
	}
	// The upstream got the client's key and not the comply token.
	for _, r := range openai.Requests() {
		if r.Header.Get("Authorization") != "Bearer sk-upstream-key" || r.Header.Get(server.TokenHeader) != "" {
			t.Errorf("upstream request headers %v", r.Header)
		}
		if r.Path != "/v1/chat/completions" {
			t.Errorf("upstream path %s", r.Path)
		}
	}
	var got []string
	for en, err := range e.l.Query(t.Context(), comply.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		md, _ := en.MetadataMap()
		got = append(got, en.Provider+"/"+en.Model+"@"+md["upstream"].(string))
		if b, _ := json.Marshal(en); strings.Contains(string(b), "sk-upstream-key") || strings.Contains(string(b), "ingest-secret") {
			t.Errorf("a secret in the entry: %s", b)
		}
	}
	if strings.Join(got, " ") != "openai/gpt-4@openai anthropic/claude-x@anthropic" {
		t.Errorf("entries %v", got)
	}
	_, b, _ := e.do("GET", "/metrics", "", "")
	if !strings.Contains(string(b), `comply_entries_written_total{source="proxy"} 2`) || !strings.Contains(string(b), `comply_upstream_duration_seconds_count{upstream="openai"} 1`) {
		t.Errorf("proxy metrics missing:\n%s", b)
	}
}
