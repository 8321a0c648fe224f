package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/complyhq/comply"
)

// entryJSON is an entry in the seed's schema: its 17 keys in the seed's
// order, null for absent optional strings.
type entryJSON struct {
	ID                 string          `json:"id"`
	Timestamp          string          `json:"timestamp"`
	InputHash          string          `json:"input_hash"`
	OutputHash         string          `json:"output_hash"`
	InputContent       *string         `json:"input_content"`
	OutputContent      *string         `json:"output_content"`
	Provider           *string         `json:"provider"`
	Model              *string         `json:"model"`
	ConversationID     *string         `json:"conversation_id"`
	SafetyPassed       bool            `json:"safety_passed"`
	DetectorsTriggered []string        `json:"detectors_triggered"`
	BlockReason        *string         `json:"block_reason"`
	Alerts             []string        `json:"alerts"`
	LatencyMS          json.Number     `json:"latency_ms"`
	InputTokens        *int64          `json:"input_tokens"`
	OutputTokens       *int64          `json:"output_tokens"`
	Metadata           json.RawMessage `json:"metadata"`
}

func toJSON(e *comply.Entry) *entryJSON {
	j := &entryJSON{
		ID:                 e.ID,
		Timestamp:          naiveISO(e.Timestamp),
		InputHash:          e.InputHash,
		OutputHash:         e.OutputHash,
		InputContent:       nullable(e.InputContent, e.Empty&comply.EmptyInputContent != 0),
		OutputContent:      nullable(e.OutputContent, e.Empty&comply.EmptyOutputContent != 0),
		Provider:           nullable(e.Provider, e.Empty&comply.EmptyProvider != 0),
		Model:              nullable(e.Model, e.Empty&comply.EmptyModel != 0),
		ConversationID:     nullable(e.ConversationID, e.Empty&comply.EmptyConversationID != 0),
		SafetyPassed:       e.SafetyPassed,
		DetectorsTriggered: e.DetectorsTriggered,
		BlockReason:        nullable(e.BlockReason, e.Empty&comply.EmptyBlockReason != 0),
		Alerts:             e.Alerts,
		LatencyMS:          json.Number(pyFloat(e.LatencyMS)),
		InputTokens:        e.InputTokens,
		OutputTokens:       e.OutputTokens,
		Metadata:           e.Metadata,
	}
	if j.DetectorsTriggered == nil {
		j.DetectorsTriggered = []string{}
	}
	if j.Alerts == nil {
		j.Alerts = []string{}
	}
	if len(bytes.TrimSpace(j.Metadata)) == 0 {
		j.Metadata = json.RawMessage("{}")
	}
	return j
}

// nullable returns s, or nil for an empty s that the line holds as null
// (empty is false).
func nullable(s string, empty bool) *string {
	if s == "" && !empty {
		return nil
	}
	return &s
}

// naiveISO formats t as the seed does: Python's isoformat() of a naive UTC
// datetime, with microseconds unless they are zero.
func naiveISO(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05")
	}
	return t.Format("2006-01-02T15:04:05.000000")
}

// pyFloat formats f as Python's repr does for the values a latency takes:
// "250.5", "1234.0", "1e-07".
func pyFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "0.0" // never stored: JSON has no such numbers
	}
	if a := math.Abs(f); f == 0 || (a >= 1e-4 && a < 1e16) {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // 1e-07 style exponent
	mant, exp, _ := strings.Cut(s, "e")
	sign := exp[0]
	exp = strings.TrimLeft(exp[1:], "0")
	if len(exp) < 2 {
		exp = strings.Repeat("0", 2-len(exp)) + exp
	}
	return mant + "e" + string(sign) + exp
}

// writeEntryJSON writes e as one JSON object: compact on one line, or
// indented when indent is set. Non-ASCII text is written as UTF-8.
func writeEntryJSON(w io.Writer, e *comply.Entry, indent bool) error {
	return encodeJSON(w, toJSON(e), indent)
}

func encodeJSON(w io.Writer, j *entryJSON, indent bool) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(j); err != nil {
		return fmt.Errorf("encoding entry %s: %w", j.ID, err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// An entryWriter writes a stream of entries in one of the query formats.
type entryWriter interface {
	Write(e *comply.Entry) error
	Close() error // ends the output (the closing bracket, the last table rows)
}

const formats = "jsonl, json or table"

func newEntryWriter(w io.Writer, format string) (entryWriter, error) {
	switch format {
	case "jsonl", "":
		return &jsonlWriter{w: w}, nil
	case "json":
		return &jsonArrayWriter{w: w}, nil
	case "table":
		return newTableWriter(w), nil
	}
	return nil, usagef("--format %q: want %s", format, formats)
}

type jsonlWriter struct{ w io.Writer }

func (j *jsonlWriter) Write(e *comply.Entry) error { return writeEntryJSON(j.w, e, false) }
func (j *jsonlWriter) Close() error                { return nil }

// jsonArrayWriter streams one JSON array, an entry per line.
type jsonArrayWriter struct {
	w io.Writer
	n int
}

func (j *jsonArrayWriter) Write(e *comply.Entry) error {
	sep := ",\n"
	if j.n == 0 {
		sep = "[\n"
	}
	j.n++
	if _, err := io.WriteString(j.w, sep); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := writeEntryJSON(&buf, e, false); err != nil {
		return err
	}
	_, err := j.w.Write(bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
	return err
}

func (j *jsonArrayWriter) Close() error {
	end := "\n]\n"
	if j.n == 0 {
		end = "[]\n"
	}
	_, err := io.WriteString(j.w, end)
	return err
}

// tableWriter writes aligned columns. Column widths are computed over
// blocks of tableBlock rows, so memory stays bounded on long outputs.
type tableWriter struct {
	tw *tabwriter.Writer
	n  int
}

const tableBlock = 1000

func newTableWriter(w io.Writer) *tableWriter {
	t := &tableWriter{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	t.header()
	return t
}

func (t *tableWriter) header() {
	fmt.Fprintln(t.tw, "TIME (UTC)\tID\tPROVIDER\tMODEL\tSAFETY\tLATENCY\tCONVERSATION")
}

func (t *tableWriter) Write(e *comply.Entry) error {
	if t.n > 0 && t.n%tableBlock == 0 {
		if err := t.tw.Flush(); err != nil {
			return err
		}
	}
	t.n++
	safety := "passed"
	if !e.SafetyPassed {
		safety = "FAILED"
	}
	_, err := fmt.Fprintf(t.tw, "%s\t%s\t%s\t%s\t%s\t%s ms\t%s\n",
		e.Timestamp.UTC().Format("2006-01-02 15:04:05"), termSafe(e.ID), dash(e.Provider), dash(e.Model),
		safety, strconv.FormatFloat(e.LatencyMS, 'f', 1, 64), dash(e.ConversationID))
	return err
}

func (t *tableWriter) Close() error { return t.tw.Flush() }

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return termSafe(s)
}

// termSafe keeps a value read from the store (or echoed in an error) from
// breaking the table's columns or lines, or from reaching the terminal as
// a control sequence: control characters and invalid UTF-8 are written as
// Go escapes (\x1b, \t, \u2028).
func termSafe(s string) string {
	if !strings.ContainsFunc(s, needsEscape) && utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case needsEscape(r):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsEscape(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}
