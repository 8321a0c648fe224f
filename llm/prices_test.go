package llm_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
)

func TestParsePrices(t *testing.T) {
	tests := []struct {
		name, data string
		want       llm.Prices // nil: an error
	}{
		{"ok", `{"models":{"gpt-4.1":{"input_per_mtok":2,"output_per_mtok":8},"text-embedding-3-small":{"input_per_mtok":0.02}}}`,
			llm.Prices{"gpt-4.1": {Input: 2, Output: 8}, "text-embedding-3-small": {Input: 0.02}}},
		{"unknown field", `{"models":{"gpt-4.1":{"input":2}}}`, nil},
		{"negative", `{"models":{"gpt-4.1":{"input_per_mtok":-1}}}`, nil},
		{"empty", `{"models":{}}`, nil},
		{"no name", `{"models":{"":{"input_per_mtok":1}}}`, nil},
		{"trailing", `{"models":{"m":{}}} {}`, nil},
		{"not json", `models: {}`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := llm.ParsePrices([]byte(tt.data))
			if (err != nil) != (tt.want == nil) {
				t.Fatalf("err = %v", err)
			}
			for m, p := range tt.want {
				if got[m] != p {
					t.Errorf("%s: %+v, want %+v", m, got[m], p)
				}
			}
		})
	}
	path := filepath.Join(t.TempDir(), "prices.json")
	os.WriteFile(path, []byte(tests[0].data), 0o600)
	if p, err := llm.LoadPrices(path); err != nil || len(p) != 2 {
		t.Errorf("LoadPrices: %v %v", p, err)
	}
	if _, err := llm.LoadPrices(path + ".missing"); err == nil {
		t.Errorf("LoadPrices of a missing file: no error")
	}
}

// TestCost: a priced call records cost_usd from its token counts (the
// fake server reports 9 input and 12 output tokens); the answering
// model's snapshot is priced by its base name; an unpriced model, or a
// call with no usage, records none.
func TestCost(t *testing.T) {
	tests := []struct {
		name, api, body string
		prices          llm.Prices
		want            float64 // 0: no cost_usd
		alert           string
	}{
		{"chat", "chat.completions", "", llm.Prices{"gpt-4.1": {Input: 2, Output: 8}}, (9*2 + 12*8) / 1e6, ""},
		{"snapshot of a priced base model", "chat.completions", "", llm.Prices{"gpt-4.1": {Input: 2, Output: 8}}, (9*2 + 12*8) / 1e6, ""},
		{"messages", "messages", "", llm.Prices{"claude-sonnet-4-5": {Input: 3, Output: 15}}, (9*3 + 12*15) / 1e6, ""},
		{"mini is not the base model", "chat.completions", `{"model":"gpt-4.1-mini","messages":[{"role":"user","content":"Hi"}]}`,
			llm.Prices{"gpt-4.1": {Input: 2, Output: 8}}, 0, ""},
		{"stream without usage", "chat.completions", `{"model":"gpt-4.1","stream":true,"messages":[{"role":"user","content":"Hi"}]}`,
			llm.Prices{"gpt-4.1": {Input: 2, Output: 8}}, 0, "no cost: the response reported no token usage"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer()
			defer srv.Close()
			if tt.name == "snapshot of a priced base model" {
				srv.ModelSuffix = "-2025-04-14"
			}
			tr := newTransport(t)
			tr.Prices = tt.prices
			body := tt.body
			if body == "" {
				body = reqBody(tt.api, false)
			}
			if _, _, err := post(t, tr, srv.URL+apiPath(tt.api), body); err != nil {
				t.Fatal(err)
			}
			e := oneEntry(t, tr)
			got, ok := meta(t, e)["cost_usd"].(float64)
			if ok != (tt.want != 0) || got != tt.want {
				t.Errorf("cost_usd %v (%v), want %v", got, ok, tt.want)
			}
			if tt.alert != "" && !slices.Contains(e.Alerts, tt.alert) || tt.alert == "" && len(e.Alerts) > 0 {
				t.Errorf("alerts %q, want %q", e.Alerts, tt.alert)
			}
		})
	}
}
