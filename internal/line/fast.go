package line

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"time"
	"unicode/utf8"
)

// decodeFast decodes a line in the exact layout Python writes: the 17 keys
// in order, separated by ", " and ": ". It reports false, leaving the work
// to decodeGeneral, for any line that deviates, including every invalid
// line; whatever it accepts, decodeGeneral accepts with the same result.
//
// Allocation is what a decode costs most, so the strings are gathered first
// and then copied into a single allocation, whose substrings they become.
func decodeFast(b []byte, e *Entry) bool {
	const start = `{"id": `
	if !hasLit(b, 0, start) || len(b) > math.MaxInt32 {
		return false
	}
	d := fastDecoder{b: b, i: len(start)}
	var in, out tokens
	ok := d.str(fID) &&
		d.key(fTimestamp) && d.timestamp(&e.Timestamp) &&
		d.key(fInputHash) && d.str(fInputHash) &&
		d.key(fOutputHash) && d.str(fOutputHash) &&
		d.key(fInputContent) && d.nullStr(fInputContent) &&
		d.key(fOutputContent) && d.nullStr(fOutputContent) &&
		d.key(fProvider) && d.nullStr(fProvider) &&
		d.key(fModel) && d.nullStr(fModel) &&
		d.key(fConversationID) && d.nullStr(fConversationID) &&
		d.key(fSafetyPassed) && d.boolean(&e.SafetyPassed) &&
		d.key(fDetectorsTriggered) && d.strs(fDetectorsTriggered, &e.DetectorsTriggered) &&
		d.key(fBlockReason) && d.nullStr(fBlockReason) &&
		d.key(fAlerts) && d.strs(fAlerts, &e.Alerts) &&
		d.key(fLatencyMS) && d.float(&e.LatencyMS) &&
		d.key(fInputTokens) && d.int(&in) &&
		d.key(fOutputTokens) && d.int(&out) &&
		d.key(fMetadata) && d.metadata(&e.Metadata) &&
		d.lit("}") && d.i == len(b)
	if !ok {
		return false
	}
	d.finishStrings(e)
	e.Empty = d.empty
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
	i int

	// The validated strings, not yet copied: raw content b[lo:hi] for the
	// field, or for an element of the array field.
	pending [32]pendingString
	n       int
	size    int // total raw length of the pending strings

	empty EmptyFields // the optional strings that hold ""
}

// A pendingString is a string value found but not yet copied.
type pendingString struct {
	field  int8  // a field number
	esc    bool  // the raw content holds escapes
	elem   int16 // the index in an array field
	lo, hi int32
}

// stringField returns the string field f of e, or element k of the array
// field f.
func stringField(e *Entry, f, k int) *string {
	switch f {
	case fID:
		return &e.ID
	case fInputHash:
		return &e.InputHash
	case fOutputHash:
		return &e.OutputHash
	case fInputContent:
		return &e.InputContent
	case fOutputContent:
		return &e.OutputContent
	case fProvider:
		return &e.Provider
	case fModel:
		return &e.Model
	case fConversationID:
		return &e.ConversationID
	case fBlockReason:
		return &e.BlockReason
	case fDetectorsTriggered:
		return &e.DetectorsTriggered[k]
	case fAlerts:
		return &e.Alerts[k]
	}
	panic("line: not a string field")
}

// keyLits holds, for each field after the first, the text from the end of
// the previous value to the start of the field's value: `, "key": `.
var keyLits = func() (lits [numFields]wordLit) {
	for f := fTimestamp; f < numFields; f++ {
		lits[f] = newWordLit(`, "` + fieldNames[f] + `": `)
	}
	return lits
}()

// A wordLit is a literal of 8 to 32 bytes prepared for comparison eight
// bytes at a time: its bytes as four little-endian words, zero-padded, and
// masks that select the literal's bytes in each word.
type wordLit struct {
	n    int
	w, m [4]uint64
}

// newWordLit prepares s, which must be 8 to 32 bytes long.
func newWordLit(s string) wordLit {
	if len(s) < 8 || len(s) > 32 {
		panic("line: literal length out of range: " + s)
	}
	l := wordLit{n: len(s)}
	var buf, mask [32]byte
	copy(buf[:], s)
	for k := range s {
		mask[k] = 0xff
	}
	for k := range l.w {
		l.w[k] = binary.LittleEndian.Uint64(buf[8*k:])
		l.m[k] = binary.LittleEndian.Uint64(mask[8*k:])
	}
	return l
}

// key consumes the separator and key that precede the value of field f.
func (d *fastDecoder) key(f int) bool {
	l := &keyLits[f]
	i := d.i
	if i+32 > len(d.b) {
		return d.keyNearEnd(f)
	}
	b := d.b[i : i+32 : i+32]
	le := binary.LittleEndian
	diff := (le.Uint64(b[0:])^l.w[0])&l.m[0] | (le.Uint64(b[8:])^l.w[1])&l.m[1] |
		(le.Uint64(b[16:])^l.w[2])&l.m[2] | (le.Uint64(b[24:])^l.w[3])&l.m[3]
	if diff != 0 {
		return false
	}
	d.i = i + l.n
	return true
}

// keyNearEnd is key for the last 32 bytes of the line.
func (d *fastDecoder) keyNearEnd(f int) bool {
	return d.lit(keyPrefixes[f])
}

// lit consumes the short literal s.
func (d *fastDecoder) lit(s string) bool {
	if !hasLit(d.b, d.i, s) {
		return false
	}
	d.i += len(s)
	return true
}

// str validates a string for field f and records it.
func (d *fastDecoder) str(f int) bool { return d.elem(f, 0) }

// elem validates a string for element k of field f and records it.
func (d *fastDecoder) elem(f, k int) bool {
	b, i := d.b, d.i
	if i >= len(b) || b[i] != '"' {
		return false
	}
	end := plainEnd(b, i+1)
	esc := false
	if end >= len(b) || b[end] != '"' {
		var kind strKind
		var err error
		if end, kind, err = scanString(b, i); err != nil {
			return false
		}
		esc = kind == strEscaped
	}
	d.i = end + 1
	if end > i+1 {
		if d.n == len(d.pending) || k > math.MaxInt16 {
			return false // unusually many strings: leave them to decodeGeneral
		}
		d.pending[d.n] = pendingString{int8(f), esc, int16(k), int32(i + 1), int32(end)}
		d.n++
		d.size += end - i - 1
	}
	return true
}

// finishStrings copies the pending strings into one allocation and points
// their fields in e at it.
func (d *fastDecoder) finishStrings(e *Entry) {
	if d.n == 0 {
		return
	}
	var sb strings.Builder
	sb.Grow(d.size)
	var offs [len(d.pending) + 1]int
	for k, p := range d.pending[:d.n] {
		offs[k] = sb.Len()
		raw := d.b[p.lo:p.hi]
		if p.esc {
			writeUnescaped(&sb, raw)
		} else {
			sb.Write(raw)
		}
	}
	offs[d.n] = sb.Len()
	s := sb.String()
	for k, p := range d.pending[:d.n] {
		*stringField(e, int(p.field), int(p.elem)) = s[offs[k]:offs[k+1]]
	}
}

// writeUnescaped writes the characters of validated string content raw to
// sb as UTF-8.
func writeUnescaped(sb *strings.Builder, raw []byte) {
	for i := 0; i < len(raw); {
		j := i
		for j < len(raw) && raw[j] != '\\' {
			j++
		}
		sb.Write(raw[i:j])
		if j == len(raw) {
			return
		}
		var r rune
		r, i = nextRune(raw, j)
		if r < utf8.RuneSelf {
			sb.WriteByte(byte(r))
		} else {
			sb.WriteRune(r)
		}
	}
}

// nullStr decodes a string or null for field f.
func (d *fastDecoder) nullStr(f int) bool {
	if d.lit("null") {
		return true
	}
	start := d.i
	if !d.str(f) {
		return false
	}
	if d.i == start+2 {
		d.empty |= emptyBit(f)
	}
	return true
}

// timestamp decodes a timestamp string without escapes.
func (d *fastDecoder) timestamp(dst *time.Time) bool {
	b, i := d.b, d.i
	if i >= len(b) || b[i] != '"' {
		return false
	}
	// A timestamp that parses holds no byte that needs escaping, so
	// finding the closing quote is enough.
	n := bytes.IndexByte(b[i+1:], '"')
	if n < 0 {
		return false
	}
	end := i + 1 + n
	t, ok := parseTimestampOK(b[i+1 : end])
	if !ok {
		return false
	}
	*dst = t
	d.i = end + 1
	return true
}

// boolean decodes true or false.
func (d *fastDecoder) boolean(dst *bool) bool {
	switch {
	case d.lit("true"):
		*dst = true
	case d.lit("false"):
		*dst = false
	default:
		return false
	}
	return true
}

// strs decodes the array of strings for field f into *dst; empty gives
// nil.
func (d *fastDecoder) strs(f int, dst *[]string) bool {
	if d.lit("[]") {
		*dst = nil
		return true
	}
	if !d.lit("[") {
		return false
	}
	n := 0
	for {
		if !d.elem(f, n) {
			return false
		}
		n++
		if d.lit("]") {
			break
		}
		if !d.lit(", ") {
			return false
		}
	}
	*dst = make([]string, n)
	return true
}

// float decodes a number.
func (d *fastDecoder) float(dst *float64) bool {
	if f, end, ok := simpleNumber(d.b, d.i); ok {
		*dst = f
		d.i = end
		return true
	}
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

// simpleNumber parses the number at b[i] in one pass if it has the form
// -?(0|[1-9][0-9]*)(\.[0-9]+)? with at most 15 significant digits and is
// followed by ',' (as every number in the fast path is), the common case
// that float64 represents exactly as mantissa / 10^fraction digits. It
// reports false for anything else, which scanNumber and parseFloat handle.
func simpleNumber(b []byte, i int) (f float64, end int, ok bool) {
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	var mant uint64
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		mant = mant*10 + uint64(b[i]-'0')
		i++
	}
	intDigits := i - start
	if intDigits == 0 || intDigits > 1 && b[start] == '0' {
		return 0, 0, false
	}
	frac := 0
	if i < len(b) && b[i] == '.' {
		i++
		for i < len(b) && '0' <= b[i] && b[i] <= '9' {
			mant = mant*10 + uint64(b[i]-'0')
			i++
			frac++
		}
		if frac == 0 {
			return 0, 0, false
		}
	}
	if i >= len(b) || b[i] != ',' || intDigits+frac > 15 {
		return 0, 0, false
	}
	f = float64(mant) / pow10[frac]
	if neg {
		f = -f
	}
	return f, i, true
}

// int decodes an integer within int64, or null.
func (d *fastDecoder) int(dst *tokens) bool {
	if d.lit("null") {
		return true
	}
	b, i := d.b, d.i
	neg := i < len(b) && b[i] == '-'
	if neg {
		i++
	}
	start := i
	var n int64
	for i < len(b) && '0' <= b[i] && b[i] <= '9' && i-start < 18 {
		n = n*10 + int64(b[i]-'0')
		i++
	}
	// Eighteen digits cannot overflow; longer numbers, leading zeros and
	// anything but the ',' that follows the token counts in Python's
	// layout go the careful way.
	if i == start || i-start > 1 && b[start] == '0' || i >= len(b) || b[i] != ',' {
		return d.intSlow(dst)
	}
	if neg {
		n = -n
	}
	*dst = tokens{n, true}
	d.i = i
	return true
}

// intSlow is int for numbers of any form.
func (d *fastDecoder) intSlow(dst *tokens) bool {
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
	if d.lit("null") {
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
