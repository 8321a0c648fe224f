package line

import (
	"encoding/json"
	"time"
)

// decodeFast decodes a line in the exact layout Python writes: the 17 keys
// in order, separated by ", " and ": ". It reports false, leaving the work
// to decodeGeneral, for any line that deviates, including every invalid
// line; whatever it accepts, decodeGeneral accepts with the same result.
//
// All strings without escapes are substrings of a single copy of the line,
// so the whole entry costs a handful of allocations.
func decodeFast(b []byte, e *Entry) bool {
	const start = `{"id": `
	if !hasLit(b, 0, start) {
		return false
	}
	d := fastDecoder{b: b, s: string(b), i: len(start)}
	var in, out tokens
	ok := d.str(&e.ID) &&
		d.key(`, "timestamp": `) && d.timestamp(&e.Timestamp) &&
		d.key(`, "input_hash": `) && d.str(&e.InputHash) &&
		d.key(`, "output_hash": `) && d.str(&e.OutputHash) &&
		d.key(`, "input_content": `) && d.nullStr(&e.InputContent) &&
		d.key(`, "output_content": `) && d.nullStr(&e.OutputContent) &&
		d.key(`, "provider": `) && d.nullStr(&e.Provider) &&
		d.key(`, "model": `) && d.nullStr(&e.Model) &&
		d.key(`, "conversation_id": `) && d.nullStr(&e.ConversationID) &&
		d.key(`, "safety_passed": `) && d.boolean(&e.SafetyPassed) &&
		d.key(`, "detectors_triggered": `) && d.strs(&e.DetectorsTriggered) &&
		d.key(`, "block_reason": `) && d.nullStr(&e.BlockReason) &&
		d.key(`, "alerts": `) && d.strs(&e.Alerts) &&
		d.key(`, "latency_ms": `) && d.float(&e.LatencyMS) &&
		d.key(`, "input_tokens": `) && d.int(&in) &&
		d.key(`, "output_tokens": `) && d.int(&out) &&
		d.key(`, "metadata": `) && d.metadata(&e.Metadata) &&
		d.key(`}`) && d.i == len(b)
	if !ok {
		return false
	}
	e.InputTokens, e.OutputTokens = newTokens(in, out)
	return true
}

// tokens is a decoded token count that may be null.
type tokens struct {
	n     int64
	valid bool
}

// newTokens returns pointers to the valid counts, in one allocation.
func newTokens(in, out tokens) (*int64, *int64) {
	switch {
	case in.valid && out.valid:
		p := &[2]int64{in.n, out.n}
		return &p[0], &p[1]
	case in.valid:
		p := new(int64)
		*p = in.n
		return p, nil
	case out.valid:
		p := new(int64)
		*p = out.n
		return nil, p
	}
	return nil, nil
}

// A fastDecoder walks a line in Python's layout.
type fastDecoder struct {
	b []byte
	s string // a copy of b, for substrings
	i int
}

// key consumes lit.
func (d *fastDecoder) key(lit string) bool {
	if !hasLit(d.b, d.i, lit) {
		return false
	}
	d.i += len(lit)
	return true
}

// str decodes a string.
func (d *fastDecoder) str(dst *string) bool {
	b, i := d.b, d.i
	if i >= len(b) || b[i] != '"' {
		return false
	}
	end := plainEnd(b, i+1)
	if end >= len(b) || b[end] != '"' {
		var esc bool
		var err error
		if end, esc, err = scanString(b, i); err != nil {
			return false
		}
		if esc {
			*dst = unquote(b[i+1:end], true)
			d.i = end + 1
			return true
		}
	}
	*dst = d.s[i+1 : end]
	d.i = end + 1
	return true
}

// nullStr decodes a string or null.
func (d *fastDecoder) nullStr(dst *string) bool {
	if d.key("null") {
		*dst = ""
		return true
	}
	return d.str(dst)
}

// timestamp decodes a timestamp string without escapes.
func (d *fastDecoder) timestamp(dst *time.Time) bool {
	b, i := d.b, d.i
	if i >= len(b) || b[i] != '"' {
		return false
	}
	end := plainEnd(b, i+1)
	if end >= len(b) || b[end] != '"' {
		return false
	}
	t, err := parseTimestamp(b[i+1 : end])
	if err != nil {
		return false
	}
	*dst = t
	d.i = end + 1
	return true
}

// boolean decodes true or false.
func (d *fastDecoder) boolean(dst *bool) bool {
	switch {
	case d.key("true"):
		*dst = true
	case d.key("false"):
		*dst = false
	default:
		return false
	}
	return true
}

// strs decodes an array of strings; empty gives nil.
func (d *fastDecoder) strs(dst *[]string) bool {
	if d.key("[]") {
		*dst = nil
		return true
	}
	if !d.key("[") {
		return false
	}
	var buf [8]string
	list := buf[:0]
	for {
		var s string
		if !d.str(&s) {
			return false
		}
		list = append(list, s)
		if d.key("]") {
			break
		}
		if !d.key(", ") {
			return false
		}
	}
	*dst = make([]string, len(list))
	copy(*dst, list)
	return true
}

// float decodes a number.
func (d *fastDecoder) float(dst *float64) bool {
	end, _, err := scanNumber(d.b, d.i)
	if err != nil {
		return false
	}
	f, err := parseFloat(d.b[d.i:end], d.i)
	if err != nil {
		return false
	}
	*dst = f
	d.i = end
	return true
}

// int decodes an integer within int64, or null.
func (d *fastDecoder) int(dst *tokens) bool {
	if d.key("null") {
		return true
	}
	end, isInt, err := scanNumber(d.b, d.i)
	if err != nil || !isInt {
		return false
	}
	n, ok := parseInt64(d.b[d.i:end])
	if !ok {
		return false
	}
	*dst = tokens{n, true}
	d.i = end
	return true
}

// metadata validates an object, or null, and copies its raw bytes.
func (d *fastDecoder) metadata(dst *json.RawMessage) bool {
	if d.key("null") {
		*dst = nil
		return true
	}
	if d.i >= len(d.b) || d.b[d.i] != '{' {
		return false
	}
	p := parser{data: d.b, pos: d.i}
	if p.value(0) != nil {
		return false
	}
	*dst = copyBytes(d.b[d.i:p.pos])
	d.i = p.pos
	return true
}
