package llm_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
)

// TestMetadataCollision: a caller's metadata key that the Transport sets
// too is never lost silently: the Transport's value keeps the key, the
// caller's moves to "caller.<key>", and an alert says so.
func TestMetadataCollision(t *testing.T) {
	tests := []struct {
		name, header string
		want         map[string]any // metadata keys and values
		alerts       []string       // substrings, one per alert, in order
	}{
		{"no collision", `{"team":"search"}`, map[string]any{"team": "search", "path": "/v1/chat/completions"}, nil},
		{"path and stream", `{"path":"/checkout","stream":"ui-7","team":"search"}`,
			map[string]any{"path": "/v1/chat/completions", "stream": false, "caller.path": "/checkout", "caller.stream": "ui-7", "team": "search"},
			[]string{`"path" is set by the transport; the caller's value is kept as "caller.path"`, `"stream" is set by the transport; the caller's value is kept as "caller.stream"`}},
		{"caller key taken too", `{"api":"mine","caller.api":"taken"}`,
			map[string]any{"api": "chat.completions", "caller.api": "taken"},
			[]string{`"api" is set by the transport; the caller's value was dropped ("caller.api" is taken too)`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer()
			defer srv.Close()
			tr := newTransport(t)
			if _, _, err := post(t, tr, srv.URL+"/v1/chat/completions", reqBody("chat.completions", false), llm.HeaderMetadata, tt.header); err != nil {
				t.Fatal(err)
			}
			e := oneEntry(t, tr)
			md := meta(t, e)
			for k, v := range tt.want {
				if md[k] != v {
					t.Errorf("metadata %q = %v, want %v (all: %s)", k, md[k], v, e.Metadata)
				}
			}
			if len(e.Alerts) != len(tt.alerts) || !slices.EqualFunc(e.Alerts, tt.alerts, strings.Contains) {
				t.Errorf("alerts %q, want %q", e.Alerts, tt.alerts)
			}
		})
	}
}
