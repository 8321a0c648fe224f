package line

import (
	"bytes"
	"strings"
	"testing"
)

// TestEmptyStringsStayEmpty checks that an optional string field that a
// line holds as "" (the Python library writes "output_content": "" when
// given an empty string) decodes as an empty string, not as null, on both
// decode paths, and that Append writes the line back byte for byte.
func TestEmptyStringsStayEmpty(t *testing.T) {
	const base = `{"id": "3764efa7-6254-4b67-8673-77597f701ef5", "timestamp": "2026-01-02T03:04:05", "input_hash": "29e266456220b3e8a4de51eb618c6b8dd913e4180fd86dfdd577a5fec10ac53d", "output_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "input_content": null, "output_content": null, "provider": null, "model": null, "conversation_id": null, "safety_passed": true, "detectors_triggered": [], "block_reason": null, "alerts": [], "latency_ms": 1.5, "input_tokens": null, "output_tokens": null, "metadata": {}}`
	tests := []struct {
		key  string
		want EmptyFields
	}{
		{"input_content", EmptyInputContent},
		{"output_content", EmptyOutputContent},
		{"provider", EmptyProvider},
		{"model", EmptyModel},
		{"conversation_id", EmptyConversationID},
		{"block_reason", EmptyBlockReason},
	}
	all := base
	var allWant EmptyFields
	for _, tt := range tests {
		all = strings.Replace(all, `"`+tt.key+`": null`, `"`+tt.key+`": ""`, 1)
		allWant |= tt.want
	}
	type lineCase struct {
		name string
		line string
		want EmptyFields
	}
	cases := []lineCase{{"none", base, 0}, {"all", all, allWant}}
	for _, tt := range tests {
		cases = append(cases, lineCase{tt.key, strings.Replace(base, `"`+tt.key+`": null`, `"`+tt.key+`": ""`, 1), tt.want})
	}
	for _, c := range cases {
		for _, path := range []struct {
			name string
			line string
		}{
			{"fast", c.line},
			// Compact separators leave the fast path.
			{"general", strings.NewReplacer(`", "`, `","`, `": `, `":`).Replace(c.line)},
		} {
			t.Run(c.name+"/"+path.name, func(t *testing.T) {
				var e Entry
				if err := Decode([]byte(path.line), &e); err != nil {
					t.Fatal(err)
				}
				if e.Empty != c.want {
					t.Errorf("Empty = %06b, want %06b", e.Empty, c.want)
				}
				for _, s := range []string{e.InputContent, e.OutputContent, e.Provider, e.Model, e.ConversationID, e.BlockReason} {
					if s != "" {
						t.Errorf("a field decoded as %q, want empty", s)
					}
				}
				got, err := Append(nil, &e)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, []byte(c.line)) {
					t.Errorf("re-encoded line differs\n got: %s\nwant: %s", got, c.line)
				}
			})
		}
	}
	// A field with a value ignores its bit: the value is written.
	e := Entry{ID: "x", InputHash: "h", OutputHash: "h", Model: "m", Empty: EmptyModel}
	got, err := Append(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte(`"model": "m"`)) || !bytes.Contains(got, []byte(`"provider": null`)) {
		t.Errorf("Append = %s", got)
	}
}
