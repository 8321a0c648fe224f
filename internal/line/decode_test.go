package line

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// intLatency is how Python wrote the one integer latency in the fixtures.
const intLatency = `"latency_ms": 12, `

// TestFixtureRoundTrip decodes every Python-written line and checks that
// Append writes it back byte for byte, except for the integer latency 12,
// which Append writes as 12.0.
func TestFixtureRoundTrip(t *testing.T) {
	intLines := 0
	for i, line := range fixtureLines(t) {
		var e Entry
		if err := Decode(line, &e); err != nil {
			t.Fatalf("line %d: Decode: %v", i, err)
		}
		got, err := Append(nil, &e)
		if err != nil {
			t.Fatalf("line %d: Append: %v", i, err)
		}
		want := line
		if bytes.Contains(line, []byte(intLatency)) {
			intLines++
			want = bytes.Replace(line, []byte(intLatency), []byte(`"latency_ms": 12.0, `), 1)
			if e.LatencyMS != 12 {
				t.Errorf("line %d: LatencyMS = %v, want 12", i, e.LatencyMS)
			}
		}
		if !bytes.Equal(got, want) {
			t.Errorf("line %d: round trip differs\n got: %s\nwant: %s", i, got, want)
		}
	}
	if intLines != 2 {
		t.Errorf("found %d lines with an integer latency, want 2 (one per file)", intLines)
	}
}

// TestFixtureValues checks decoded fields against expected.json and against
// values known from the Python script.
func TestFixtureValues(t *testing.T) {
	expected := readExpected(t)
	for mode, path := range map[string]string{"hash_only": hashOnlyPath, "encrypted": encryptedPath} {
		lines := readLines(t, path)
		cases := expected[mode]
		if len(lines) != len(cases) {
			t.Fatalf("%s: %d lines, %d expected cases", mode, len(lines), len(cases))
		}
		for i, line := range lines {
			c := cases[i]
			var e Entry
			if err := Decode(line, &e); err != nil {
				t.Fatalf("%s/%s: %v", mode, c.Case, err)
			}
			if e.ID != c.ID || e.InputHash != c.InputSHA256 || e.OutputHash != c.OutputSHA256 {
				t.Errorf("%s/%s: id, hashes = %s %s %s; want %s %s %s", mode, c.Case,
					e.ID, e.InputHash, e.OutputHash, c.ID, c.InputSHA256, c.OutputSHA256)
			}
			if encrypted := e.InputContent != "" && e.OutputContent != ""; encrypted != (mode == "encrypted") {
				t.Errorf("%s/%s: content = %q, %q", mode, c.Case, e.InputContent, e.OutputContent)
			}
			if e.Timestamp.Location() != time.UTC || e.Timestamp.Year() != 2026 {
				t.Errorf("%s/%s: timestamp %v", mode, c.Case, e.Timestamp)
			}
			// The metadata is the exact substring of the line.
			const key = `"metadata": `
			want := line[bytes.LastIndex(line, []byte(key))+len(key) : len(line)-1]
			if !bytes.Equal(e.Metadata, want) {
				t.Errorf("%s/%s: metadata %s, want %s", mode, c.Case, e.Metadata, want)
			}
			checkCase(t, mode+"/"+c.Case, c.Case, &e)
		}
	}
}

// checkCase checks the values particular to each case of the fixtures.
func checkCase(t *testing.T, name, kase string, e *Entry) {
	t.Helper()
	type summary struct {
		Provider, Model, ConversationID, BlockReason string
		SafetyPassed                                 bool
		DetectorsTriggered, Alerts                   []string
		LatencyMS                                    float64
		InputTokens, OutputTokens                    *int64
	}
	got := summary{e.Provider, e.Model, e.ConversationID, e.BlockReason, e.SafetyPassed,
		e.DetectorsTriggered, e.Alerts, e.LatencyMS, e.InputTokens, e.OutputTokens}
	var want summary
	switch kase {
	case "basic":
		want = summary{Provider: "openai", Model: "gpt-4", SafetyPassed: true, LatencyMS: 250.5,
			InputTokens: ptr(5), OutputTokens: ptr(1)}
	case "metadata":
		want = summary{Provider: "anthropic", Model: "claude-3-opus", ConversationID: "conv-001",
			SafetyPassed: true, LatencyMS: 1234}
		if !bytes.Contains(e.Metadata, []byte(`"big": 12345678901234567890,`)) {
			t.Errorf("%s: big integer lost: %s", name, e.Metadata)
		}
	case "unicode":
		want = summary{Provider: "mistral", Model: "mistral-large", ConversationID: "会话-1",
			SafetyPassed: true, Alerts: []string{"Ünïcødé alert ⚠"}}
		var m map[string]string
		if err := json.Unmarshal(e.Metadata, &m); err != nil || m["note"] != "naïve café ☕ 𝄞" || m["ctrl"] != "\x01\x1f\x7f" {
			t.Errorf("%s: metadata %s decodes to %q, %v", name, e.Metadata, m, err)
		}
	case "empty_output":
		want = summary{SafetyPassed: true}
	case "safety_failure":
		want = summary{Provider: "openai", Model: "gpt-4o", BlockReason: "Content policy violation",
			DetectorsTriggered: []string{"harmful_content", "violence"},
			Alerts:             []string{"High risk content detected", "PII found"},
			LatencyMS:          12, InputTokens: ptr(7), OutputTokens: ptr(0)}
	default:
		t.Fatalf("%s: unknown case", name)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: decoded\n%+v\nwant\n%+v", name, got, want)
	}
}

// TestFastGeneralAgree decodes every fixture line through both paths, and
// compacted variants, which only the general path takes.
func TestFastGeneralAgree(t *testing.T) {
	for i, line := range fixtureLines(t) {
		var fast, general, viaCompact Entry
		if !decodeFast(line, &fast) {
			t.Fatalf("line %d: fast path rejected a Python line", i)
		}
		if err := decodeGeneral(line, &general); err != nil {
			t.Fatalf("line %d: general path: %v", i, err)
		}
		if !reflect.DeepEqual(fast, general) {
			t.Errorf("line %d: paths disagree\nfast:    %+v\ngeneral: %+v", i, fast, general)
		}
		compact := compactLine(t, line)
		if decodeFast(compact, new(Entry)) {
			t.Errorf("line %d: fast path took a compact line", i)
		}
		if err := Decode(compact, &viaCompact); err != nil {
			t.Fatalf("line %d: compact: %v", i, err)
		}
		// Only the metadata bytes differ: they are kept as they appear.
		if !bytes.Equal(viaCompact.Metadata, compactLine(t, fast.Metadata)) {
			t.Errorf("line %d: compact metadata %s", i, viaCompact.Metadata)
		}
		viaCompact.Metadata = fast.Metadata
		if !reflect.DeepEqual(fast, viaCompact) {
			t.Errorf("line %d: compact line decodes differently\n got %+v\nwant %+v", i, viaCompact, fast)
		}
	}
}

// basicLine is the first fixture line, for variations.
const basicLine = `{"id": "0099c6f8-d620-47e7-b458-943e08b4aa7b", "timestamp": "2026-11-25T17:38:41.529363", "input_hash": "52cb6b5e4a038af1756708f98afb718a08c75b87b2f03dbee4dd9c8139c15c5e", "output_hash": "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a", "input_content": null, "output_content": null, "provider": "openai", "model": "gpt-4", "conversation_id": null, "safety_passed": true, "detectors_triggered": [], "block_reason": null, "alerts": [], "latency_ms": 250.5, "input_tokens": 5, "output_tokens": 1, "metadata": {}}`

// variant returns basicLine with old replaced by new, which must occur.
func variant(t *testing.T, old, new string) []byte {
	t.Helper()
	if !strings.Contains(basicLine, old) {
		t.Fatalf("%q not in basicLine", old)
	}
	return []byte(strings.Replace(basicLine, old, new, 1))
}

func TestDecodeVariants(t *testing.T) {
	var basic Entry
	if err := Decode([]byte(basicLine), &basic); err != nil {
		t.Fatal(err)
	}
	with := func(f func(e *Entry)) Entry {
		e := basic
		f(&e)
		return e
	}
	minimal := `{"id": "x", "timestamp": "2026-11-25T17:38:41", "input_hash": "a", "output_hash": "b", "safety_passed": false}`
	tests := []struct {
		name string
		line []byte
		want Entry
	}{
		{"reordered", []byte(`{"timestamp": "2026-11-25T17:38:41.529363", "id": "0099c6f8-d620-47e7-b458-943e08b4aa7b", "input_hash": "52cb6b5e4a038af1756708f98afb718a08c75b87b2f03dbee4dd9c8139c15c5e", "output_hash": "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a", "metadata": {}, "input_content": null, "output_content": null, "provider": "openai", "model": "gpt-4", "conversation_id": null, "safety_passed": true, "detectors_triggered": [], "block_reason": null, "alerts": [], "latency_ms": 250.5, "input_tokens": 5, "output_tokens": 1}`), basic},
		{"surrounding spaces", []byte(" \t" + basicLine + " "), basic},
		{"escaped key", variant(t, `"model"`, `"\u006dodel"`), basic},
		{"escaped value", variant(t, `"gpt-4"`, `"gpt\u002d4"`), basic},
		{"escaped timestamp", variant(t, `"2026-11-25T17:38:41.529363"`, `"2026\u002d11-25T17:38:41.529363"`), basic},
		{"RFC 3339 timestamp", variant(t, `"2026-11-25T17:38:41.529363"`, `"2026-11-25T18:38:41.529363+01:00"`), basic},
		{"empty string", variant(t, `"model": "gpt-4"`, `"model": ""`), with(func(e *Entry) { e.Model, e.Empty = "", EmptyModel })},
		{"null arrays", variant(t, `"alerts": []`, `"alerts": null`), basic},
		{"spaced arrays", variant(t, `"alerts": []`, `"alerts": [ "a" ,"b\n"]`), with(func(e *Entry) { e.Alerts = []string{"a", "b\n"} })},
		{"raw UTF-8", variant(t, `"gpt-4"`, `"gpt-4 — é"`), with(func(e *Entry) { e.Model = "gpt-4 — é" })},
		{"int64 bounds", variant(t, `"input_tokens": 5, "output_tokens": 1`, `"input_tokens": -9223372036854775808, "output_tokens": 9223372036854775807`),
			with(func(e *Entry) { e.InputTokens, e.OutputTokens = ptr(-1<<63), ptr(1<<63-1) })},
		{"one token count", variant(t, `"output_tokens": 1`, `"output_tokens": null`), with(func(e *Entry) { e.OutputTokens = nil })},
		{"latency exponent", variant(t, `250.5`, `2.505E2`), basic},
		{"latency underflow", variant(t, `250.5`, `1e-400`), with(func(e *Entry) { e.LatencyMS = 0 })},
		{"null metadata", variant(t, `"metadata": {}`, `"metadata": null`), with(func(e *Entry) { e.Metadata = nil })},
		{"spaced metadata", variant(t, `"metadata": {}`, `"metadata":   {"b" :1,"a": [ 2.0 ]}  `), with(func(e *Entry) { e.Metadata = json.RawMessage(`{"b" :1,"a": [ 2.0 ]}`) })},
		{"minimal", []byte(minimal), Entry{ID: "x", Timestamp: time.Date(2026, 11, 25, 17, 38, 41, 0, time.UTC), InputHash: "a", OutputHash: "b"}},
	}
	for _, tt := range tests {
		var got Entry
		if err := Decode(tt.line, &got); err != nil {
			t.Errorf("%s: Decode: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Decode =\n%+v\nwant\n%+v", tt.name, got, tt.want)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name  string
		line  []byte
		field string // the *FieldError's field, or "" for a *SyntaxError
		msg   string // a substring of the message
		utf8  bool
	}{
		{"empty", []byte(``), "", "end of input", false},
		{"not an object", []byte(`[]`), "", "want '{'", false},
		{"trailing CR", []byte(basicLine + "\r"), "", "want end of line", false},
		{"trailing LF", []byte(basicLine + "\n"), "", "want end of line", false},
		{"newline inside", variant(t, `"metadata": {}`, "\"metadata\":\n{}"), "metadata", "unexpected '\\n'", false},
		{"newline in metadata", variant(t, `"metadata": {}`, "\"metadata\": {\n}"), "metadata", "unexpected", false},
		{"trailing data", []byte(basicLine + "{}"), "", "want end of line", false},
		{"truncated", []byte(basicLine[:len(basicLine)-1]), "", "',' or '}'", false},
		{"unknown key", variant(t, `"model"`, `"modell"`), "", `unknown key "modell"`, false},
		{"duplicate key", variant(t, `"provider": "openai"`, `"model": "x"`), "", `duplicate key "model"`, false},
		{"missing id", variant(t, `"id": "0099c6f8-d620-47e7-b458-943e08b4aa7b", `, ``), "id", "missing", false},
		{"missing safety_passed", variant(t, `"safety_passed": true, `, ``), "safety_passed", "missing", false},
		{"null id", variant(t, `"0099c6f8-d620-47e7-b458-943e08b4aa7b"`, `null`), "id", "want a string", false},
		{"number hash", variant(t, `"4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a"`, `7`), "output_hash", "want a string", false},
		{"bad timestamp", variant(t, `17:38:41.529363`, `17:38`), "timestamp", "invalid timestamp", false},
		{"null safety_passed", variant(t, `"safety_passed": true`, `"safety_passed": null`), "safety_passed", "true or false", false},
		{"string safety_passed", variant(t, `"safety_passed": true`, `"safety_passed": "true"`), "safety_passed", "true or false", false},
		{"float tokens", variant(t, `"input_tokens": 5`, `"input_tokens": 5.0`), "input_tokens", "not an integer", false},
		{"big tokens", variant(t, `"input_tokens": 5`, `"input_tokens": 9223372036854775808`), "input_tokens", "out of int64 range", false},
		{"small tokens", variant(t, `"output_tokens": 1`, `"output_tokens": -9223372036854775809`), "output_tokens", "out of int64 range", false},
		{"string tokens", variant(t, `"input_tokens": 5`, `"input_tokens": "5"`), "input_tokens", "integer or null", false},
		{"null latency", variant(t, `250.5`, `null`), "latency_ms", "want a number", false},
		{"latency overflow", variant(t, `250.5`, `1e400`), "latency_ms", "out of float64 range", false},
		{"latency NaN", variant(t, `250.5`, `NaN`), "latency_ms", "want a number", false},
		{"array metadata", variant(t, `"metadata": {}`, `"metadata": []`), "metadata", "want a JSON object or null", false},
		{"duplicate metadata key", variant(t, `"metadata": {}`, `"metadata": {"a": 1, "a": 2}`), "metadata", "duplicate key", false},
		{"lone surrogate metadata", variant(t, `"metadata": {}`, `"metadata": {"a": "\ud800"}`), "metadata", "lone surrogate", false},
		{"metadata overflow", variant(t, `"metadata": {}`, `"metadata": {"a": -1e999}`), "metadata", "out of float64 range", false},
		{"deep metadata", variant(t, `"metadata": {}`, `"metadata": `+strings.Repeat(`{"a":`, 1001)+"1"+strings.Repeat("}", 1001)), "metadata", "nesting deeper", false},
		{"invalid UTF-8 model", variant(t, `"gpt-4"`, "\"gpt\xff\""), "model", "invalid UTF-8", true},
		{"invalid UTF-8 key", variant(t, `"model"`, "\"mod\xc3\""), "", "invalid UTF-8", true},
		{"invalid UTF-8 metadata", variant(t, `"metadata": {}`, "\"metadata\": {\"\xff\": 1}"), "metadata", "invalid UTF-8", true},
		{"lone surrogate alert", variant(t, `"alerts": []`, `"alerts": ["\udc00"]`), "alerts", "lone surrogate", false},
		{"null alert", variant(t, `"alerts": []`, `"alerts": [null]`), "alerts", "want a string", false},
		{"object alerts", variant(t, `"alerts": []`, `"alerts": {}`), "alerts", "array of strings", false},
		{"control char", variant(t, `"gpt-4"`, "\"gpt\t4\""), "model", "control character", false},
	}
	for _, tt := range tests {
		e := Entry{ID: "unchanged"}
		err := Decode(tt.line, &e)
		if err == nil {
			t.Errorf("%s: Decode succeeded, want error", tt.name)
			continue
		}
		if e.ID != "unchanged" {
			t.Errorf("%s: Decode modified e on error", tt.name)
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("%s: error %q does not contain %q", tt.name, err, tt.msg)
		}
		var fe *FieldError
		isField := errors.As(err, &fe)
		switch {
		case tt.field == "" && isField:
			t.Errorf("%s: error %q is a *FieldError, want a *SyntaxError", tt.name, err)
		case tt.field == "" && !errors.As(err, new(*SyntaxError)):
			t.Errorf("%s: error %q (%T) is not a *SyntaxError", tt.name, err, err)
		case tt.field != "" && (!isField || fe.Field != tt.field):
			t.Errorf("%s: error %q is not a *FieldError for %s", tt.name, err, tt.field)
		}
		if errors.Is(err, ErrInvalidUTF8) != tt.utf8 {
			t.Errorf("%s: errors.Is(%q, ErrInvalidUTF8) = %v", tt.name, err, !tt.utf8)
		}
	}
}

func TestDecodeDoesNotAlias(t *testing.T) {
	line := []byte(readLines(t, hashOnlyPath)[1])
	var e Entry
	if err := Decode(line, &e); err != nil {
		t.Fatal(err)
	}
	want := string(e.Metadata)
	id := e.ID
	for i := range line {
		line[i] = 'X'
	}
	if string(e.Metadata) != want || id != "500f964f-94a8-491d-9e0c-a1869ea47245" {
		t.Errorf("decoded entry changed with the input: %s %s", e.ID, e.Metadata)
	}
}

func TestPeek(t *testing.T) {
	lines := fixtureLines(t)
	for _, line := range lines {
		lines = append(lines, compactLine(t, line))
	}
	for i, line := range lines {
		var e Entry
		if err := Decode(line, &e); err != nil {
			t.Fatal(err)
		}
		id, ts, err := Peek(line)
		if err != nil || id != e.ID || !ts.Equal(e.Timestamp) || ts.Location() != time.UTC {
			t.Errorf("line %d: Peek = %s, %v, %v; want %s, %v", i, id, ts, err, e.ID, e.Timestamp)
		}
	}
	for _, bad := range [][]byte{
		nil,
		[]byte(`{"id": "x", "timestamp": "yesterday"}`),
		[]byte(`{"id": "x"}`),
		[]byte(`{"id": "a\"b", "timestamp": "2026-11-25T17:38:41"}`),
	} {
		if id, ts, err := Peek(bad); err == nil {
			t.Errorf("Peek(%q) = %s, %v; want error", bad, id, ts)
		}
	}
	// Escaped ids take the full decode.
	line := variant(t, `"0099c6f8-d620`, `"\u0030099c6f8-d620`)
	if id, _, err := Peek(line); err != nil || id != "0099c6f8-d620-47e7-b458-943e08b4aa7b" {
		t.Errorf("Peek of an escaped id = %q, %v", id, err)
	}
}
