package line

import (
	"errors"
	"math"
	"slices"
	"strconv"
)

// The keys of a line, in the order Python writes them.
const (
	keyID                 = "id"
	keyTimestamp          = "timestamp"
	keyInputHash          = "input_hash"
	keyOutputHash         = "output_hash"
	keyInputContent       = "input_content"
	keyOutputContent      = "output_content"
	keyProvider           = "provider"
	keyModel              = "model"
	keyConversationID     = "conversation_id"
	keySafetyPassed       = "safety_passed"
	keyDetectorsTriggered = "detectors_triggered"
	keyBlockReason        = "block_reason"
	keyAlerts             = "alerts"
	keyLatencyMS          = "latency_ms"
	keyInputTokens        = "input_tokens"
	keyOutputTokens       = "output_tokens"
	keyMetadata           = "metadata"
)

var (
	errNotFinite  = errors.New("NaN or infinite")
	errNotObject  = errors.New("not a JSON object")
	errNotInteger = errors.New("not an integer")
	errIntRange   = errors.New("integer out of int64 range")
)

// Append appends e as one line in the seed's format, exactly as Python's
// json.dumps writes the entry, without the trailing newline.
//
// The empty string is written as null in the optional string fields
// (input_content, output_content, provider, model, conversation_id,
// block_reason), or as "" for a field in e.Empty; nil and empty slices as []; nil InputTokens and
// OutputTokens as null; nil or empty Metadata as {}. Metadata must hold
// one JSON object and is re-emitted through AppendJSON, so any valid JSON
// object becomes Python style with its key order kept. The timestamp is
// written with AppendTimestamp and the latency with AppendFloat (so a
// latency of 12 is written 12.0).
//
// The errors are *FieldError values naming the field: a string that is not
// valid UTF-8 (wrapping ErrInvalidUTF8), a NaN or infinite latency, a
// timestamp outside Python's years 1 to 9999, and Metadata that is not a
// valid JSON object (wrapping the *SyntaxError, if any). On error dst is
// returned unchanged.
func Append(dst []byte, e *Entry) ([]byte, error) {
	n := len(dst)
	out, err := appendEntry(slices.Grow(dst, sizeHint(e)), e)
	if err != nil {
		return dst[:n], err
	}
	return out, nil
}

// sizeHint estimates the length of e's line.
func sizeHint(e *Entry) int {
	n := 400 + len(e.ID) + len(e.InputHash) + len(e.OutputHash) +
		len(e.InputContent) + len(e.OutputContent) + len(e.Provider) +
		len(e.Model) + len(e.ConversationID) + len(e.BlockReason) + len(e.Metadata)
	for _, s := range e.DetectorsTriggered {
		n += len(s) + 4
	}
	for _, s := range e.Alerts {
		n += len(s) + 4
	}
	return n
}

// keyPrefixes holds, for each field, the text that precedes its value:
// `{"id": ` for the first, `, "key": ` for the others.
var keyPrefixes = func() (p [numFields]string) {
	for f, k := range fieldNames {
		p[f] = `, "` + k + `": `
	}
	p[fID] = `{"` + keyID + `": `
	return p
}()

// appendEntry does the work of Append.
func appendEntry(dst []byte, e *Entry) ([]byte, error) {
	var err error
	if dst, err = appendStringField(dst, fID, e.ID, false); err != nil {
		return dst, err
	}
	if y := e.Timestamp.UTC().Year(); y < 1 || y > 9999 {
		return dst, &FieldError{Field: keyTimestamp, Err: errTimestampRange}
	}
	dst = append(dst, keyPrefixes[fTimestamp]...)
	dst = append(dst, '"')
	dst = AppendTimestamp(dst, e.Timestamp)
	dst = append(dst, '"')
	strs := [...]struct {
		field    int
		val      string
		nullable bool
	}{
		{fInputHash, e.InputHash, false},
		{fOutputHash, e.OutputHash, false},
		{fInputContent, e.InputContent, e.Empty&EmptyInputContent == 0},
		{fOutputContent, e.OutputContent, e.Empty&EmptyOutputContent == 0},
		{fProvider, e.Provider, e.Empty&EmptyProvider == 0},
		{fModel, e.Model, e.Empty&EmptyModel == 0},
		{fConversationID, e.ConversationID, e.Empty&EmptyConversationID == 0},
	}
	for _, s := range strs {
		if dst, err = appendStringField(dst, s.field, s.val, s.nullable); err != nil {
			return dst, err
		}
	}
	dst = append(dst, keyPrefixes[fSafetyPassed]...)
	dst = strconv.AppendBool(dst, e.SafetyPassed)
	if dst, err = appendStrings(dst, fDetectorsTriggered, e.DetectorsTriggered); err != nil {
		return dst, err
	}
	if dst, err = appendStringField(dst, fBlockReason, e.BlockReason, e.Empty&EmptyBlockReason == 0); err != nil {
		return dst, err
	}
	if dst, err = appendStrings(dst, fAlerts, e.Alerts); err != nil {
		return dst, err
	}
	if math.IsNaN(e.LatencyMS) || math.IsInf(e.LatencyMS, 0) {
		return dst, &FieldError{Field: keyLatencyMS, Err: errNotFinite}
	}
	dst = append(dst, keyPrefixes[fLatencyMS]...)
	dst = AppendFloat(dst, e.LatencyMS)
	dst = appendTokens(dst, fInputTokens, e.InputTokens)
	dst = appendTokens(dst, fOutputTokens, e.OutputTokens)
	dst = append(dst, keyPrefixes[fMetadata]...)
	if dst, err = appendMetadata(dst, e.Metadata); err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

// appendStringField appends field f with the string s, or null for an
// empty nullable string.
func appendStringField(dst []byte, f int, s string, nullable bool) ([]byte, error) {
	dst = append(dst, keyPrefixes[f]...)
	if nullable && s == "" {
		return append(dst, "null"...), nil
	}
	dst, ok := appendString(dst, s)
	if !ok {
		return dst, &FieldError{Field: fieldNames[f], Err: ErrInvalidUTF8}
	}
	return dst, nil
}

// appendStrings appends field f with an array of strings.
func appendStrings(dst []byte, f int, ss []string) ([]byte, error) {
	dst = append(dst, keyPrefixes[f]...)
	dst = append(dst, '[')
	for i, s := range ss {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		var ok bool
		if dst, ok = appendString(dst, s); !ok {
			return dst, &FieldError{Field: fieldNames[f], Err: ErrInvalidUTF8}
		}
	}
	return append(dst, ']'), nil
}

// appendTokens appends field f with a token count or null.
func appendTokens(dst []byte, f int, n *int64) []byte {
	dst = append(dst, keyPrefixes[f]...)
	if n == nil {
		return append(dst, "null"...)
	}
	return strconv.AppendInt(dst, *n, 10)
}

// appendMetadata appends m, which must be a JSON object, or {} if it is
// empty.
func appendMetadata(dst, m []byte) ([]byte, error) {
	if len(m) == 0 {
		return append(dst, "{}"...), nil
	}
	p := parser{data: m, newlines: true}
	p.skipWS()
	if p.peek() != '{' {
		return dst, &FieldError{Field: keyMetadata, Err: errNotObject}
	}
	dst, err := AppendJSON(dst, m)
	if err != nil {
		return dst, &FieldError{Field: keyMetadata, Err: err}
	}
	return dst, nil
}
