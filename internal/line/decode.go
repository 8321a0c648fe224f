package line

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"time"
)

// Field numbers, in the order of the keys in a line.
const (
	fID = iota
	fTimestamp
	fInputHash
	fOutputHash
	fInputContent
	fOutputContent
	fProvider
	fModel
	fConversationID
	fSafetyPassed
	fDetectorsTriggered
	fBlockReason
	fAlerts
	fLatencyMS
	fInputTokens
	fOutputTokens
	fMetadata
	numFields
)

// fieldNames maps field numbers to keys.
var fieldNames = [numFields]string{
	keyID, keyTimestamp, keyInputHash, keyOutputHash, keyInputContent,
	keyOutputContent, keyProvider, keyModel, keyConversationID,
	keySafetyPassed, keyDetectorsTriggered, keyBlockReason, keyAlerts,
	keyLatencyMS, keyInputTokens, keyOutputTokens, keyMetadata,
}

// fieldIndex maps keys to field numbers.
var fieldIndex = func() map[string]int {
	m := make(map[string]int, numFields)
	for i, k := range fieldNames {
		m[k] = i
	}
	return m
}()

// requiredFields are the fields a line must have; the others default to
// null or, for latency_ms, zero.
const requiredFields = 1<<fID | 1<<fTimestamp | 1<<fInputHash | 1<<fOutputHash | 1<<fSafetyPassed

var errMissing = errors.New("missing")

// Decode parses one line, without its trailing newline, into e.
//
// A line in the exact layout Python writes is decoded by a fast path;
// any other JSON object with the entry's keys is decoded by a general
// decoder, with the same result. The keys id, timestamp, input_hash,
// output_hash and safety_passed are required; a missing optional key
// decodes as null (or, for latency_ms, 0). Unknown and duplicate keys are
// errors, as are line breaks ("\r" or "\n") anywhere outside strings.
//
// Values decode as follows: null in an optional string field as "", and
// "" as "" with the field's bit set in Empty;
// detectors_triggered and alerts as nil when null or empty; latency_ms from
// any JSON number (Python's integer 12 as 12.0); input_tokens and
// output_tokens from null or an integer literal within int64 (5.0 is an
// error); metadata as a copy of its raw bytes exactly as they appear in the
// line (null as nil; any other non-object value is an error), after the
// same validation AppendJSON applies, so that Append can write back every
// entry Decode returns. The timestamp is parsed with ParseTimestamp.
//
// Nothing in e aliases b. The strings of an entry decoded by the fast path
// share one allocation, so keeping any of them keeps all (a few hundred
// bytes for a hash-only line). On error e is left unchanged and the error
// is a *SyntaxError, or a *FieldError naming the key.
func Decode(b []byte, e *Entry) error {
	var x Entry
	if !decodeFast(b, &x) {
		x = Entry{}
		if err := decodeGeneral(b, &x); err != nil {
			return err
		}
	}
	*e = x
	return nil
}

// Peek returns the id and timestamp of a line, as cheaply as possible: when
// the line starts as Python writes it, with the id and the timestamp first,
// it reads only those two values and does not validate the rest of the
// line. Otherwise it decodes the whole line with Decode.
func Peek(b []byte) (id string, ts time.Time, err error) {
	const idKey, tsKey = `{"id": "`, `", "timestamp": "`
	if hasLit(b, 0, idKey) {
		i := len(idKey)
		j := plainEnd(b, i)
		if hasLit(b, j, tsKey) {
			// A timestamp that parses holds no byte that needs escaping.
			k := j + len(tsKey)
			if n := bytes.IndexByte(b[k:], '"'); n >= 0 {
				if ts, ok := parseTimestampOK(b[k : k+n]); ok {
					return string(b[i:j]), ts, nil
				}
			}
		}
	}
	var e Entry
	if err := Decode(b, &e); err != nil {
		return "", time.Time{}, err
	}
	return e.ID, e.Timestamp, nil
}

// hasLit reports whether b holds lit at i.
func hasLit(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// decodeGeneral decodes any JSON object with the entry's keys.
func decodeGeneral(b []byte, e *Entry) error {
	p := parser{data: b}
	p.skipWS()
	if p.peek() != '{' {
		return p.unexpected("'{'")
	}
	p.pos++
	p.skipWS()
	var seen uint32
	if p.peek() == '}' {
		p.pos++
	} else {
		for {
			f, err := p.key(seen)
			if err != nil {
				return err
			}
			seen |= 1 << f
			if err := p.field(f, e); err != nil {
				return &FieldError{Field: fieldNames[f], Err: err}
			}
			p.skipWS()
			if p.peek() == ',' {
				p.pos++
				p.skipWS()
				continue
			}
			if p.peek() != '}' {
				return p.unexpected("',' or '}'")
			}
			p.pos++
			break
		}
	}
	p.skipWS()
	if p.pos != len(b) {
		return p.unexpected("end of line")
	}
	if missing := requiredFields &^ seen; missing != 0 {
		for f := range numFields {
			if missing&(1<<f) != 0 {
				return &FieldError{Field: fieldNames[f], Err: errMissing}
			}
		}
	}
	return nil
}

// key parses an object key of an entry and the colon after it, and returns
// its field number; seen holds the fields already decoded.
func (p *parser) key(seen uint32) (int, error) {
	if p.peek() != '"' {
		return 0, p.unexpected("a string key")
	}
	start := p.pos
	end, kind, err := scanString(p.data, start)
	if err != nil {
		return 0, err
	}
	raw := p.data[start+1 : end]
	var f int
	var ok bool
	if kind == strEscaped {
		f, ok = fieldIndex[unquote(raw, kind)]
	} else {
		f, ok = fieldIndex[string(raw)]
	}
	switch {
	case !ok:
		return 0, syntaxErr(start, "unknown key "+strconv.Quote(unquote(raw, kind)))
	case seen&(1<<f) != 0:
		return 0, syntaxErr(start, "duplicate key "+strconv.Quote(fieldNames[f]))
	}
	p.pos = end + 1
	p.skipWS()
	if p.peek() != ':' {
		return 0, p.unexpected("':'")
	}
	p.pos++
	p.skipWS()
	return f, nil
}

// field decodes the value of field f into e.
func (p *parser) field(f int, e *Entry) (err error) {
	if bit := emptyBit(f); bit != 0 && p.peek() == '"' {
		defer func() {
			if err == nil && *stringField(e, f, 0) == "" {
				e.Empty |= bit
			}
		}()
	}
	switch f {
	case fID:
		e.ID, err = p.stringValue(false)
	case fTimestamp:
		var s string
		if s, err = p.stringValue(false); err == nil {
			e.Timestamp, err = ParseTimestamp(s)
		}
	case fInputHash:
		e.InputHash, err = p.stringValue(false)
	case fOutputHash:
		e.OutputHash, err = p.stringValue(false)
	case fInputContent:
		e.InputContent, err = p.stringValue(true)
	case fOutputContent:
		e.OutputContent, err = p.stringValue(true)
	case fProvider:
		e.Provider, err = p.stringValue(true)
	case fModel:
		e.Model, err = p.stringValue(true)
	case fConversationID:
		e.ConversationID, err = p.stringValue(true)
	case fSafetyPassed:
		e.SafetyPassed, err = p.boolValue()
	case fDetectorsTriggered:
		e.DetectorsTriggered, err = p.stringsValue()
	case fBlockReason:
		e.BlockReason, err = p.stringValue(true)
	case fAlerts:
		e.Alerts, err = p.stringsValue()
	case fLatencyMS:
		e.LatencyMS, err = p.floatValue()
	case fInputTokens:
		e.InputTokens, err = p.intValue()
	case fOutputTokens:
		e.OutputTokens, err = p.intValue()
	case fMetadata:
		e.Metadata, err = p.metadataValue()
	}
	return err
}

// stringValue parses a string, or null as "" if nullable.
func (p *parser) stringValue(nullable bool) (string, error) {
	switch c := p.peek(); {
	case c == '"':
		end, kind, err := scanString(p.data, p.pos)
		if err != nil {
			return "", err
		}
		s := unquote(p.data[p.pos+1:end], kind)
		p.pos = end + 1
		return s, nil
	case c == 'n' && nullable:
		return "", p.literal("null")
	case nullable:
		return "", p.unexpected("a string or null")
	}
	return "", p.unexpected("a string")
}

// boolValue parses true or false.
func (p *parser) boolValue() (bool, error) {
	switch p.peek() {
	case 't':
		return true, p.literal("true")
	case 'f':
		return false, p.literal("false")
	}
	return false, p.unexpected("true or false")
}

// stringsValue parses an array of strings, or null; empty decodes as nil.
func (p *parser) stringsValue() ([]string, error) {
	if p.peek() == 'n' {
		return nil, p.literal("null")
	}
	if p.peek() != '[' {
		return nil, p.unexpected("an array of strings")
	}
	p.pos++
	p.skipWS()
	if p.peek() == ']' {
		p.pos++
		return nil, nil
	}
	var ss []string
	for {
		if p.peek() != '"' {
			return nil, p.unexpected("a string")
		}
		s, err := p.stringValue(false)
		if err != nil {
			return nil, err
		}
		ss = append(ss, s)
		p.skipWS()
		switch p.peek() {
		case ',':
			p.pos++
			p.skipWS()
		case ']':
			p.pos++
			return ss, nil
		default:
			return nil, p.unexpected("',' or ']'")
		}
	}
}

// floatValue parses any number as a float64.
func (p *parser) floatValue() (float64, error) {
	if c := p.peek(); c != '-' && (c < '0' || c > '9') {
		return 0, p.unexpected("a number")
	}
	start := p.pos
	end, _, err := scanNumber(p.data, start)
	if err != nil {
		return 0, err
	}
	p.pos = end
	return parseFloat(p.data[start:end], start)
}

// intValue parses null or an integer literal within the int64 range.
func (p *parser) intValue() (*int64, error) {
	switch c := p.peek(); {
	case c == 'n':
		return nil, p.literal("null")
	case c != '-' && (c < '0' || c > '9'):
		return nil, p.unexpected("an integer or null")
	}
	start := p.pos
	end, isInt, err := scanNumber(p.data, start)
	if err != nil {
		return nil, err
	}
	p.pos = end
	if !isInt {
		return nil, errNotInteger
	}
	n, ok := parseInt64(p.data[start:end])
	if !ok {
		return nil, errIntRange
	}
	return &n, nil
}

// metadataValue validates an object, or null, and returns a copy of its raw
// bytes; null gives nil.
func (p *parser) metadataValue() (json.RawMessage, error) {
	switch p.peek() {
	case 'n':
		return nil, p.literal("null")
	case '{':
	default:
		return nil, p.unexpected("a JSON object or null")
	}
	start := p.pos
	if err := p.value(0); err != nil {
		return nil, err
	}
	return copyBytes(p.data[start:p.pos]), nil
}

// copyBytes returns a copy of b with no spare capacity.
func copyBytes(b []byte) []byte {
	c := make([]byte, len(b))
	copy(c, b)
	return c
}
