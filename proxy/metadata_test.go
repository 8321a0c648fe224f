package proxy_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
)

// TestClientMetadataCollision: a client's X-Comply-Metadata key that the
// proxy's transport sets too ("path", "stream") is kept under
// "caller.<key>" with an alert, never replaced silently.
func TestClientMetadataCollision(t *testing.T) {
	up := llmtest.NewServer()
	defer up.Close()
	logger := memLogger(t)
	pu, _ := setup(t, up, logger, false)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, pu+rawCases[0].path, strings.NewReader(rawCases[0].body))
	req.Header.Set(llm.HeaderMetadata, `{"path":"/checkout","stream":"web","team":"search"}`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	e := waitEntries(t, logger, 1)[0]
	var md map[string]any
	if err := json.Unmarshal(e.Metadata, &md); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"path": rawCases[0].path, "caller.path": "/checkout", "caller.stream": "web", "team": "search"}
	for k, v := range want {
		if md[k] != v {
			t.Errorf("metadata %q = %v, want %v", k, md[k], v)
		}
	}
	if len(e.Alerts) != 2 || !strings.Contains(e.Alerts[0], `"caller.path"`) || !strings.Contains(e.Alerts[1], `"caller.stream"`) {
		t.Errorf("alerts %q", e.Alerts)
	}
}

// TestGeminiAndEmbeddingsThroughProxy: Gemini's streamed answer and an
// embeddings call are audited through the proxy, the stream with its time
// to first token.
func TestGeminiAndEmbeddingsThroughProxy(t *testing.T) {
	tests := []struct{ path, body, api string }{
		{"/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse", `{"contents":[{"parts":[{"text":"Hello!"}]}]}`, "streamGenerateContent"},
		{"/v1/embeddings", `{"model":"text-embedding-3-small","input":"Hello!"}`, "embeddings"},
	}
	for _, tt := range tests {
		t.Run(tt.api, func(t *testing.T) {
			up := llmtest.NewServer()
			defer up.Close()
			logger := memLogger(t)
			pu, _ := setup(t, up, logger, false)
			resp, _, err := post(t, pu, tt.path, tt.body)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("%v %v", resp, err)
			}
			e := waitEntries(t, logger, 1)[0]
			var md map[string]any
			json.Unmarshal(e.Metadata, &md)
			_, ttft := md["ttft_ms"]
			if md["api"] != tt.api || !e.SafetyPassed || e.InputHash != logger.Hash("Hello!") || ttft != (tt.api == "streamGenerateContent") {
				t.Errorf("entry %+v, metadata %s", e, e.Metadata)
			}
		})
	}
}
