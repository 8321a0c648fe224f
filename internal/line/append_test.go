package line

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"math"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/golden/entry.jsonl from Append")

const goldenPath = "testdata/golden/entry.jsonl"

// goldenEntries exercise every field: a full entry with awkward strings and
// metadata, and a minimal one with every optional field empty.
func goldenEntries() []Entry {
	return []Entry{
		{
			ID:                 "01939b2e-7c4a-7d3e-9f10-2b3c4d5e6f70",
			Timestamp:          time.Date(2026, 11, 25, 18, 38, 41, 529363999, time.FixedZone("CET", 3600)),
			InputHash:          "52cb6b5e4a038af1756708f98afb718a08c75b87b2f03dbee4dd9c8139c15c5e",
			OutputHash:         "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a",
			InputContent:       "Z0FBQUFBQnJCeDBoakRkN0VlZEJYTTUwTjhkem1aN1Jja3Z2ZUR1N3Z3OGtSOHdRTHkwenFWYnhZYWhkd0NYdHpCc2hDcFpJaXI5OXBMRlQ1R0VVUkg5aGJqSkpvbVdmOHc9PQ==",
			OutputContent:      "line1\nline2\t\"quoted\" \\ </script> & <b>",
			Provider:           "openai",
			Model:              "gpt-4o",
			ConversationID:     "会话-1 😀",
			SafetyPassed:       false,
			DetectorsTriggered: []string{"harmful_content", "ctrl \x00\x1f\x7f\b\f\r"},
			BlockReason:        "Content policy violation",
			Alerts:             []string{"Ünïcødé alert ⚠", "naïve café ☕ 𝄞"},
			LatencyMS:          1e-07,
			InputTokens:        ptr(1234),
			OutputTokens:       ptr(0),
			Metadata: json.RawMessage(`{ "session_id":"abc123", "user":{"id":42,"roles":["admin","auditor"],"verified":true},
				"score":0.875, "tags":[], "nothing":null, "zeta":1, "alpha":2.0, "big":12345678901234567890,
				"tiny":1e-07, "exp":1E5, "neg":-0, "esc":"\u00e9\/\ud83d\ude00" }`),
		},
		{
			ID:         "3764efa7-6254-4b67-8673-77597f701ef5",
			Timestamp:  time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			InputHash:  "29e266456220b3e8a4de51eb618c6b8dd913e4180fd86dfdd577a5fec10ac53d",
			OutputHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			LatencyMS:  1.5e16,
		},
	}
}

// TestGolden checks Append against testdata/golden/entry.jsonl, which
// python3 -c 'json.dumps(json.loads(line)) == line' confirms for each line.
// Run with -update to rewrite it.
func TestGolden(t *testing.T) {
	var got []byte
	for _, e := range goldenEntries() {
		var err error
		if got, err = Append(got, &e); err != nil {
			t.Fatal(err)
		}
		got = append(got, '\n')
	}
	if *update {
		if err := os.WriteFile(goldenPath, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("Append differs from %s\n got: %s\nwant: %s", goldenPath, got, want)
	}
	// The golden lines decode back to the entries.
	for i, line := range bytes.Split(bytes.TrimSuffix(want, []byte("\n")), []byte("\n")) {
		var e Entry
		if err := Decode(line, &e); err != nil {
			t.Fatalf("golden line %d: %v", i, err)
		}
		if want := normalize(t, goldenEntries()[i]); !reflect.DeepEqual(normalize(t, e), want) {
			t.Errorf("golden line %d decodes to\n%+v\nwant\n%+v", i, e, want)
		}
	}
}

func TestAppendNullsAndEmpties(t *testing.T) {
	e := Entry{ID: "x", Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC),
		DetectorsTriggered: []string{}, Metadata: json.RawMessage{}}
	got, err := Append(nil, &e)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"id": "x", "timestamp": "2026-01-02T03:04:05.000006", "input_hash": "", "output_hash": "", "input_content": null, "output_content": null, "provider": null, "model": null, "conversation_id": null, "safety_passed": false, "detectors_triggered": [], "block_reason": null, "alerts": [], "latency_ms": 0.0, "input_tokens": null, "output_tokens": null, "metadata": {}}`
	if string(got) != want {
		t.Errorf("Append =\n%s\nwant\n%s", got, want)
	}
}

func TestAppendErrors(t *testing.T) {
	valid := goldenEntries()[0]
	tests := []struct {
		name, field string
		mod         func(e *Entry)
		utf8        bool
	}{
		{"id", "id", func(e *Entry) { e.ID = "\xff" }, true},
		{"input_hash", "input_hash", func(e *Entry) { e.InputHash = "a\xc3" }, true},
		{"output_hash", "output_hash", func(e *Entry) { e.OutputHash = "\xed\xa0\x80" }, true},
		{"input_content", "input_content", func(e *Entry) { e.InputContent = "\xff" }, true},
		{"output_content", "output_content", func(e *Entry) { e.OutputContent = "\xff" }, true},
		{"provider", "provider", func(e *Entry) { e.Provider = "\xff" }, true},
		{"model", "model", func(e *Entry) { e.Model = "\xff" }, true},
		{"conversation_id", "conversation_id", func(e *Entry) { e.ConversationID = "\xff" }, true},
		{"block_reason", "block_reason", func(e *Entry) { e.BlockReason = "\xff" }, true},
		{"detectors_triggered", "detectors_triggered", func(e *Entry) { e.DetectorsTriggered = []string{"ok", "\xff"} }, true},
		{"alerts", "alerts", func(e *Entry) { e.Alerts = []string{"\xff"} }, true},
		{"NaN latency", "latency_ms", func(e *Entry) { e.LatencyMS = math.NaN() }, false},
		{"Inf latency", "latency_ms", func(e *Entry) { e.LatencyMS = math.Inf(-1) }, false},
		{"year 0", "timestamp", func(e *Entry) { e.Timestamp = time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC) }, false},
		{"year 10000", "timestamp", func(e *Entry) { e.Timestamp = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, false},
		{"array metadata", "metadata", func(e *Entry) { e.Metadata = json.RawMessage(`[]`) }, false},
		{"null metadata", "metadata", func(e *Entry) { e.Metadata = json.RawMessage(`null`) }, false},
		{"invalid metadata", "metadata", func(e *Entry) { e.Metadata = json.RawMessage(`{"a":}`) }, false},
		{"two objects", "metadata", func(e *Entry) { e.Metadata = json.RawMessage(`{} {}`) }, false},
		{"metadata overflow", "metadata", func(e *Entry) { e.Metadata = json.RawMessage(`{"a": 1e400}`) }, false},
		{"metadata UTF-8", "metadata", func(e *Entry) { e.Metadata = json.RawMessage("{\"a\": \"\xff\"}") }, true},
	}
	for _, tt := range tests {
		e := valid
		tt.mod(&e)
		got, err := Append([]byte("prefix"), &e)
		if err == nil {
			t.Errorf("%s: Append succeeded: %s", tt.name, got)
			continue
		}
		if string(got) != "prefix" {
			t.Errorf("%s: Append changed dst on error: %q", tt.name, got)
		}
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field || !strings.HasPrefix(err.Error(), "field "+tt.field+": ") {
			t.Errorf("%s: error %v, want a *FieldError for %s", tt.name, err, tt.field)
		}
		if errors.Is(err, ErrInvalidUTF8) != tt.utf8 {
			t.Errorf("%s: errors.Is(%v, ErrInvalidUTF8) = %v", tt.name, err, !tt.utf8)
		}
	}
}
