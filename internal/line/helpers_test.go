package line

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"testing"
	"time"
)

// The files written by the Python reference library.
const (
	seedDir       = "../../testdata/seed-interop/"
	hashOnlyPath  = seedDir + "hash_only/audit_20261125.jsonl"
	encryptedPath = seedDir + "encrypted/audit_20261125.jsonl"
	expectedPath  = seedDir + "expected.json"
)

// readLines returns the lines of a JSONL file, without their newlines.
func readLines(tb testing.TB, path string) [][]byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		tb.Fatalf("%s: does not end with a newline", path)
	}
	return bytes.Split(data[:len(data)-1], []byte("\n"))
}

// fixtureLines returns every line of both Python-written files.
func fixtureLines(tb testing.TB) [][]byte {
	return append(readLines(tb, hashOnlyPath), readLines(tb, encryptedPath)...)
}

// expectedCase is one case of expected.json.
type expectedCase struct {
	Case         string `json:"case"`
	ID           string `json:"id"`
	Input        string `json:"input"`
	Output       string `json:"output"`
	InputSHA256  string `json:"input_sha256"`
	OutputSHA256 string `json:"output_sha256"`
}

// readExpected returns expected.json's cases per mode.
func readExpected(tb testing.TB) map[string][]expectedCase {
	tb.Helper()
	data, err := os.ReadFile(expectedPath)
	if err != nil {
		tb.Fatal(err)
	}
	var v struct {
		Modes map[string][]expectedCase `json:"modes"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		tb.Fatal(err)
	}
	return v.Modes
}

// compactLine returns line with all insignificant whitespace removed, a
// valid line that the fast path does not take.
func compactLine(tb testing.TB, line []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, line); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// normalize returns e in the form a round trip through Append and Decode
// gives: timestamp truncated to the microsecond, metadata re-emitted in
// Python style ({} for nil), empty slices nil.
func normalize(tb testing.TB, e Entry) Entry {
	tb.Helper()
	e.Timestamp = e.Timestamp.UTC().Truncate(time.Microsecond)
	if len(e.Metadata) == 0 {
		e.Metadata = json.RawMessage("{}")
	} else {
		m, err := AppendJSON(nil, e.Metadata)
		if err != nil {
			tb.Fatalf("metadata %q: %v", e.Metadata, err)
		}
		e.Metadata = m
	}
	if len(e.DetectorsTriggered) == 0 {
		e.DetectorsTriggered = nil
	}
	if len(e.Alerts) == 0 {
		e.Alerts = nil
	}
	e.DetectorsTriggered = slices.Clip(e.DetectorsTriggered)
	e.Alerts = slices.Clip(e.Alerts)
	return e
}

// ptr returns a pointer to n.
func ptr(n int64) *int64 { return &n }
