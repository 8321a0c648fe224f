package rollup

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TestFactsOf: the report's facts of a metadata object.
func TestFactsOf(t *testing.T) {
	tests := []struct {
		md                     string
		user, session, serious bool
	}{
		{`{}`, false, false, false},
		{`{"user_id": "u1", "session_id": "s1"}`, true, true, false},
		{`{"user_id": " ", "session_id": "s1"}`, false, true, false},
		{`{"user_id": null}`, false, false, false},
		{`{"user_id": 7, "severity": "SERIOUS"}`, true, false, true},
		{`{"severity": "low", "nested": {"user_id": "x"}}`, false, false, false},
		{`{"user_id": {"a": 1}, "session_id": []}`, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.md, func(t *testing.T) {
			f := FactsOf(json.RawMessage(tt.md))
			if f.User != tt.user || f.Session != tt.session || f.Serious != tt.serious {
				t.Errorf("user %v session %v serious %v, want %v %v %v", f.User, f.Session, f.Serious, tt.user, tt.session, tt.serious)
			}
		})
	}
}

func BenchmarkFactsOf(b *testing.B) {
	for _, md := range []string{`{"app": "x"}`, `{"user_id": "u1", "session_id": "s1"}`, `{"user_id": "u1", "session_id": "s1", "ttft_ms": 120.5, "cost_usd": 0.0012, "tags": ["a", "b"]}`} {
		b.Run(md, func(b *testing.B) {
			raw := json.RawMessage(md)
			for b.Loop() {
				FactsOf(raw)
			}
		})
	}
}

// factsByDecode is FactsOf by encoding/json, as it was written before the
// scanner (with the quick checks of each group of keys, as Stats and the
// report had them): the reference the scanner must equal on valid objects.
func factsByDecode(md []byte) Facts {
	var f Facts
	var m struct {
		Error    json.RawMessage `json:"error"`
		TTFT     json.RawMessage `json:"ttft_ms"`
		Cost     json.RawMessage `json:"cost_usd"`
		User     any             `json:"user_id"`
		Session  any             `json:"session_id"`
		Severity any             `json:"severity"`
	}
	if json.Unmarshal(md, &m) != nil {
		return f
	}
	who := bytes.Contains(md, []byte(`"user_id"`)) || bytes.Contains(md, []byte(`"session_id"`)) || bytes.Contains(md, []byte(`"severity"`))
	stats := bytes.Contains(md, []byte(`"error"`)) || bytes.Contains(md, []byte(`"ttft_ms"`)) || bytes.Contains(md, []byte(`"cost_usd"`))
	if !who {
		m.User, m.Session, m.Severity = nil, nil, nil
	}
	if !stats {
		m.Error, m.TTFT, m.Cost = nil, nil, nil
	}
	named := func(v any) bool {
		s, ok := v.(string)
		return v != nil && (!ok || strings.TrimSpace(s) != "")
	}
	f.User, f.Session = named(m.User), named(m.Session)
	sev, _ := m.Severity.(string)
	f.Serious = strings.EqualFold(sev, "serious")
	var e struct {
		Type string `json:"type"`
	}
	f.Failed = len(m.Error) > 0 && json.Unmarshal(m.Error, &e) == nil && e.Type != ""
	f.HasTTFT = len(m.TTFT) > 0 && json.Unmarshal(m.TTFT, &f.TTFT) == nil && f.TTFT >= 0
	f.HasCost = len(m.Cost) > 0 && json.Unmarshal(m.Cost, &f.Cost) == nil && f.Cost >= 0
	return f
}

// FuzzFactsOf: on any JSON object, FactsOf equals the decoding reference.
func FuzzFactsOf(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"user_id": "u1", "session_id": "s1"}`, `{"USER_ID": "x", "user_id": null}`, `{"user_\u0069d": "\u0020"}`,
		`{"severity": "Seri\u006fus", "error": {"type": "rate_limit"}, "ttft_ms": 12.5, "cost_usd": null}`,
		`{"a": [1, {"user_id": "x"}], "b": "}\"{", "session_id": -0.5e3}`, ` { "ttft_ms" : -1 , "cost_usd":"1" } `,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var obj map[string]any
		if json.Unmarshal([]byte(s), &obj) != nil || obj == nil {
			return // FactsOf reads the metadata of stored lines: JSON objects
		}
		got, want := FactsOf(json.RawMessage(s)), factsByDecode([]byte(s))
		if got != want {
			t.Errorf("%s: %+v, want %+v", s, got, want)
		}
	})
}
