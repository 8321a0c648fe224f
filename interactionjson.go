package comply

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/complyhq/comply/internal/line"
)

// A DecodeError says why DecodeInteraction refused its input. Key names
// the key at fault ("input", "timestamp"), or is "" when the input is not
// one JSON object of the expected form. The message never quotes content.
type DecodeError struct {
	Key string
	Err error
}

func (e *DecodeError) Error() string { return e.Err.Error() }

func (e *DecodeError) Unwrap() error { return e.Err }

// interactionJSON is the JSON form of an Interaction: the keyword
// arguments of the seed's log(), and a timestamp for backfill.
type interactionJSON struct {
	Input              *string         `json:"input"`
	Output             *string         `json:"output"`
	Provider           *string         `json:"provider"`
	Model              *string         `json:"model"`
	ConversationID     *string         `json:"conversation_id"`
	SafetyPassed       *bool           `json:"safety_passed"`
	DetectorsTriggered []string        `json:"detectors_triggered"`
	BlockReason        *string         `json:"block_reason"`
	Alerts             []string        `json:"alerts"`
	LatencyMS          *float64        `json:"latency_ms"`
	InputTokens        *int64          `json:"input_tokens"`
	OutputTokens       *int64          `json:"output_tokens"`
	Metadata           json.RawMessage `json:"metadata"`
	Timestamp          *string         `json:"timestamp"` // for backfill
}

// DecodeInteraction decodes one interaction from a JSON object whose keys
// are the keyword arguments of the Python library's log(): input
// (required), output, provider, model, conversation_id, safety_passed
// (default true), detectors_triggered, block_reason, alerts, latency_ms,
// input_tokens, output_tokens, metadata (an object, key order kept), and
// timestamp, to backfill (see ParseTime). It is the form 'comply log
// --jsonl' reads a line in, and POST /v1/entries an item.
//
// An unknown key, a value of the wrong type, or more than one JSON value
// is refused with a *DecodeError.
func DecodeInteraction(data []byte) (Interaction, error) {
	return DecodeInteractionString(string(data))
}

// DecodeInteractionString is DecodeInteraction for JSON held in a string.
// The interaction's strings share s's memory rather than copying it: a
// server that holds a request's body as one string decodes every item of
// it without copying their content again.
func DecodeInteractionString(s string) (Interaction, error) {
	if in, ok := decodeInteractionFast(s); ok {
		return in, nil
	}
	return decodeInteractionSlow([]byte(s))
}

// decodeInteractionSlow is DecodeInteraction through encoding/json, which
// words every error.
func decodeInteractionSlow(data []byte) (Interaction, error) {
	fail := func(key, format string, args ...any) (Interaction, error) {
		return Interaction{}, &DecodeError{Key: key, Err: fmt.Errorf(format, args...)}
	}
	b := bytes.TrimSpace(data)
	if len(b) == 0 || b[0] != '{' {
		return fail("", "want a JSON object")
	}
	var l interactionJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return fail(te.Field, "key %q: want %s, got a JSON %s", te.Field, jsonType(te.Type.String()), te.Value)
		case errors.As(err, &se):
			return fail("", "invalid JSON at column %d: %v", se.Offset, err)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.TrimPrefix(err.Error(), "json: unknown field ")
			return fail(strings.Trim(name, `"`), "unknown key %s (want the keyword arguments of log(): input, output, provider, model, conversation_id, safety_passed, detectors_triggered, block_reason, alerts, latency_ms, input_tokens, output_tokens, metadata, or timestamp)", name)
		}
		return fail("", "invalid JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return fail("", "invalid JSON: more than one value on the line")
	}
	if l.Input == nil {
		return fail("input", `missing key "input"`)
	}
	in, err := l.interaction()
	if err != nil {
		return fail("timestamp", `key "timestamp": %w`, err)
	}
	if md := bytes.TrimSpace(l.Metadata); len(md) > 0 && string(md) != "null" {
		if md[0] != '{' {
			return fail("metadata", `key "metadata": want a JSON object`)
		}
		in.Metadata = json.RawMessage(md)
	}
	return in, nil
}

// interaction returns the interaction l describes but for its metadata,
// which the two decoders check each in their way; the error is the
// timestamp's. l.Input must be set.
func (l *interactionJSON) interaction() (Interaction, error) {
	in := Interaction{
		Input:              *l.Input,
		Output:             deref(l.Output),
		Provider:           deref(l.Provider),
		Model:              deref(l.Model),
		ConversationID:     deref(l.ConversationID),
		SafetyFailed:       l.SafetyPassed != nil && !*l.SafetyPassed,
		DetectorsTriggered: l.DetectorsTriggered,
		BlockReason:        deref(l.BlockReason),
		Alerts:             l.Alerts,
		InputTokens:        l.InputTokens,
		OutputTokens:       l.OutputTokens,
	}
	if l.LatencyMS != nil {
		in.Latency = line.MSDuration(*l.LatencyMS)
	}
	if l.Timestamp != nil {
		t, err := ParseTime(*l.Timestamp, false)
		if err != nil {
			return Interaction{}, err
		}
		in.Time = t
	}
	return in, nil
}

// jsonType words a Go type of interactionJSON as the JSON it wants.
func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array of strings"
	case strings.Contains(goType, "string"):
		return "a string or null"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "int"):
		return "an integer"
	}
	return goType
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// Time layouts accepted by ParseTime, besides RFC 3339.
var naiveLayouts = []string{
	"2006-01-02T15:04:05.999999999", // the seed's naive isoformat, and without fraction
	"2006-01-02T15:04",
}

// ParseTime parses a time as comply's commands and API take it: RFC 3339
// ("2026-11-25T17:38:41Z", "...+02:00"), the seed's naive ISO form
// ("2026-11-25T17:38:41.537070", taken as UTC; a space may replace the
// T), or a date ("2026-11-25"). A date is the start of that UTC day, or,
// when endOfDay is set, its last instant, so that an inclusive end bound
// of 2026-11-25 includes the whole day.
func ParseTime(s string, endOfDay bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if endOfDay {
			t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
		}
		return t, nil
	}
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range naiveLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil // no zone: UTC, as the seed's naive timestamps
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want RFC 3339 (2026-11-25T17:38:41Z), a naive UTC time (2026-11-25T17:38:41.537070) or a date (2026-11-25)", s)
}

// AppendJSON appends the entry's JSON form to dst: the line as the seed
// writes it (Python's json.dumps layout, the 17 keys in the seed's order,
// null for absent optional strings, non-ASCII escaped), which is what the
// store holds for every entry comply writes. It is the form 'comply
// serve' answers with; its keys and values are those of 'comply get
// --json'. On error dst is returned unchanged.
func (e *Entry) AppendJSON(dst []byte) ([]byte, error) {
	return line.Append(dst, (*line.Entry)(e))
}

// MarshalJSON returns the entry's JSON form (see AppendJSON).
func (e Entry) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil)
}
