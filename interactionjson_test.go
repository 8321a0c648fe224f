package comply_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store/memstore"
)

func TestDecodeInteraction(t *testing.T) {
	tests := []struct {
		name, in string
		key      string // the DecodeError's key, when it fails
		wantErr  string
		check    func(t *testing.T, in comply.Interaction)
	}{
		{name: "minimal", in: `{"input": "hi"}`, check: func(t *testing.T, in comply.Interaction) {
			if in.Input != "hi" || in.SafetyFailed || in.Metadata != nil {
				t.Errorf("got %+v", in)
			}
		}},
		{name: "all keys", in: `{"input":"a","output":"b","provider":"openai","model":"gpt-4","conversation_id":"c","safety_passed":false,"detectors_triggered":["d"],"block_reason":"r","alerts":["x"],"latency_ms":1.5,"input_tokens":3,"output_tokens":4,"metadata":{"k":1},"timestamp":"2026-01-02T03:04:05Z"}`,
			check: func(t *testing.T, in comply.Interaction) {
				if in.Output != "b" || in.Provider != "openai" || !in.SafetyFailed || in.Latency != 1500*time.Microsecond ||
					*in.InputTokens != 3 || *in.OutputTokens != 4 || in.Time != time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) {
					t.Errorf("got %+v", in)
				}
			}},
		{name: "not an object", in: `[1]`, wantErr: "want a JSON object"},
		{name: "missing input", in: `{"output": "x"}`, key: "input", wantErr: `missing key "input"`},
		{name: "unknown key", in: `{"input": "x", "inpt": 1}`, key: "inpt", wantErr: `unknown key "inpt"`},
		{name: "wrong type", in: `{"input": 1}`, key: "input", wantErr: `key "input": want a string or null, got a JSON number`},
		{name: "bad timestamp", in: `{"input": "x", "timestamp": "yesterday"}`, key: "timestamp", wantErr: `key "timestamp": invalid time`},
		{name: "metadata array", in: `{"input": "x", "metadata": [1]}`, key: "metadata", wantErr: `key "metadata": want a JSON object`},
		{name: "two values", in: `{"input": "x"} {}`, wantErr: "more than one value"},
		{name: "syntax", in: `{"input": }`, wantErr: "invalid JSON at column"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := comply.DecodeInteraction([]byte(tt.in))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				tt.check(t, in)
				return
			}
			var de *comply.DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("error %v, want a *DecodeError", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) || de.Key != tt.key {
				t.Errorf("error %q (key %q), want %q (key %q)", err, de.Key, tt.wantErr, tt.key)
			}
		})
	}
}

func TestEntryAppendJSONIsTheLine(t *testing.T) {
	ctx := t.Context()
	l, err := comply.New(memstore.New(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	id, err := l.Log(ctx, comply.Interaction{Input: "é", Output: "o", Provider: "p", Metadata: map[string]any{"k": 2.0}})
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := l.Store().Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(rec.Line) {
		t.Errorf("AppendJSON\n%s\nwant the stored line\n%s", got, rec.Line)
	}
}

func FuzzDecodeInteraction(f *testing.F) {
	for _, s := range []string{`{"input":"a"}`, `{"input":"a","metadata":{"x":[1,2]},"timestamp":"2026-01-02"}`, `[]`, `{"input":null}`, `{"latency_ms":1e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := comply.DecodeInteraction(b)
		if err == nil {
			return
		}
		var de *comply.DecodeError
		if !errors.As(err, &de) {
			t.Fatalf("error %v is not a *DecodeError", err)
		}
	})
}

// FuzzDecodeInteractionFast checks the fast path against encoding/json's:
// whatever the fast path accepts, the slow path accepts too, with the same
// interaction.
func FuzzDecodeInteractionFast(f *testing.F) {
	for _, s := range []string{`{"input":"a"}`, `{"input": "a\nb\u00e9", "output": null, "latency_ms": 1.5e2, "input_tokens": 3, "alerts": ["x"], "metadata": {"k": [1, "}"]}}`,
		`{"input":"a","input":"b"}`, `{"Input":"a"}`, `{"input":"a","latency_ms":01}`, `{"input":"\xff"}`, `{"input":"a","safety_passed":false,"detectors_triggered":[],"timestamp":"2026-01-02"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fast, ok := comply.DecodeInteractionFast(string(b))
		if !ok {
			return
		}
		slow, err := comply.DecodeInteractionSlow(b)
		if err != nil {
			t.Fatalf("fast path accepts %q, slow path refuses: %v", b, err)
		}
		if !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: fast %#v, slow %#v", b, fast, slow)
		}
	})
}
