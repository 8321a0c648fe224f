package otelnode

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/otlp"
	"github.com/complyhq/comply/otlp/otlptest"
)

// node returns the node binary, once the npm packages are installed; it
// skips the test without them, or fails it in CI.
func node(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("node")
	if err == nil {
		if _, err = os.Stat("node_modules/openai/package.json"); err == nil {
			return path
		}
	}
	const hint = "needs node and npm, and the packages: make otelnode (npm ci in integration/sdk/otelnode)"
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s: %v", hint, err)
	}
	t.Skip(hint)
	return ""
}

// TestInstrumentations runs script.mjs with each instrumentation and
// checks the entry its span became.
func TestInstrumentations(t *testing.T) {
	nodeBin := node(t)
	const (
		question = "What is the capital of France?"
		model    = "gpt-4.1"
	)
	tests := []struct {
		name string
		// captured: the instrumentation records the messages on the span
		// (the contrib one sends them as log records, not on the span).
		captured bool
	}{
		{"traceloop", true},
		{"traceloop-legacy", true},
		{"contrib", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := llmtest.NewServer()
			defer fake.Close()
			logger := llmtest.MemLogger(t)
			srv, results := otlptest.Server(t, logger)

			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, nodeBin, "script.mjs")
			cmd.Env = append(os.Environ(),
				"INSTRUMENTATION="+tt.name,
				"OPENAI_BASE_URL="+fake.URL+"/v1",
				"OTLP_TRACES_URL="+srv.URL+"/v1/traces")
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("node script.mjs: %v\n%s", err, out)
			}
			var entries []comply.Entry
			for e, err := range logger.Entries(t.Context(), time.Time{}, time.Time{}) {
				if err != nil {
					t.Fatal(err)
				}
				entries = append(entries, e)
			}
			if len(entries) != 1 {
				t.Fatalf("%d entries, want 1; results %+v; node:\n%s", len(entries), results(), out)
			}
			e := entries[0]
			md, err := e.MetadataMap()
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("entry: provider %q model %q metadata %s", e.Provider, e.Model, e.Metadata)
			if e.Provider != "openai" || e.Model != model {
				t.Errorf("provider %q model %q", e.Provider, e.Model)
			}
			if e.InputTokens == nil || *e.InputTokens != llmtest.DefaultInputTokens || e.OutputTokens == nil || *e.OutputTokens != llmtest.DefaultOutputTokens {
				t.Errorf("tokens %v %v", e.InputTokens, e.OutputTokens)
			}
			if e.LatencyMS <= 0 || time.Since(e.Timestamp) > time.Minute {
				t.Errorf("latency %v timestamp %v", e.LatencyMS, e.Timestamp)
			}
			if md["service.name"] != "otelnode-"+tt.name || len(md["trace_id"].(string)) != 32 {
				t.Errorf("metadata %v", md)
			}
			if !tt.captured {
				if md["content"] != otlp.NotCaptured || e.InputHash != logger.Hash("") {
					t.Errorf("content %v", md["content"])
				}
				return
			}
			if md["content"] != nil {
				t.Errorf("content %v", md["content"])
			}
			if e.InputHash != logger.Hash(question) || e.OutputHash != logger.Hash(llmtest.DefaultText) {
				t.Errorf("hashes are not those of %q and %q", question, llmtest.DefaultText)
			}
		})
	}
}
