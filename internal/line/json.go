package line

import (
	"encoding/binary"
	"math"
	"strconv"
)

// maxDepth is the deepest nesting of arrays and objects accepted.
const maxDepth = 1000

// AppendJSON appends the JSON value raw re-emitted as Python's json.dumps
// would write it after json.loads, keeping the key order of objects.
//
//   - An integer literal (no '.', 'e' or 'E') is kept digit for digit,
//     whatever its size; "-0" becomes "0", as Python's int does.
//   - Any other number is parsed as a float64 and written with AppendFloat,
//     so 1E5 becomes 100000.0 and 1.0e-7 becomes 1e-07. A number beyond
//     the float64 range is an error (Python would write Infinity, which is
//     not JSON).
//   - Strings are decoded and re-escaped as AppendString writes them. A lone
//     surrogate escape or invalid UTF-8 is an error, never replaced.
//   - A duplicate key within one object is an error.
//   - Whitespace becomes Python's separators ", " and ": "; empty
//     containers are {} and [].
//   - Nesting deeper than 1000 arrays and objects is an error.
//
// Whitespace around the value is allowed. Errors are *SyntaxError values
// whose Offset is relative to raw; on error dst is returned unchanged.
func AppendJSON(dst, raw []byte) ([]byte, error) {
	out, err := appendJSONDepth(dst, raw, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// appendJSONDepth is AppendJSON for a value nested depth levels deep.
func appendJSONDepth(dst, raw []byte, depth int) ([]byte, error) {
	p := parser{data: raw, out: dst, emit: true, newlines: true}
	p.skipWS()
	if err := p.value(depth); err != nil {
		return dst, err
	}
	p.skipWS()
	if p.pos != len(raw) {
		return dst, p.unexpected("end of input")
	}
	return p.out, nil
}

// A parser walks one JSON value. With emit set it writes the value to out in
// Python's style; without, it only validates, by the same rules.
type parser struct {
	data     []byte
	pos      int
	out      []byte
	emit     bool
	newlines bool // '\n' and '\r' count as whitespace
}

// wsTable and wsNLTable mark the whitespace bytes, without and with line
// breaks.
var wsTable, wsNLTable = [256]bool{' ': true, '\t': true},
	[256]bool{' ': true, '\t': true, '\n': true, '\r': true}

// skipWS advances past whitespace.
func (p *parser) skipWS() {
	ws := &wsTable
	if p.newlines {
		ws = &wsNLTable
	}
	for p.pos < len(p.data) && ws[p.data[p.pos]] {
		p.pos++
	}
}

// peek returns the byte at the current position, or 0 at the end.
func (p *parser) peek() byte {
	if p.pos < len(p.data) {
		return p.data[p.pos]
	}
	return 0
}

// unexpected returns an error for the byte at the current position.
func (p *parser) unexpected(want string) error {
	if p.pos >= len(p.data) {
		return syntaxErr(p.pos, "unexpected end of input, want "+want)
	}
	return syntaxErr(p.pos, "unexpected "+quoteByte(p.data[p.pos])+", want "+want)
}

// put appends s to the output when emitting.
func (p *parser) put(s string) {
	if p.emit {
		p.out = append(p.out, s...)
	}
}

// value parses the value at the current position, which sits inside depth
// arrays and objects.
func (p *parser) value(depth int) error {
	switch c := p.peek(); {
	case c == '{':
		return p.object(depth + 1)
	case c == '[':
		return p.array(depth + 1)
	case c == '"':
		return p.str()
	case c == '-' || '0' <= c && c <= '9':
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return p.unexpected("a JSON value")
}

// literal parses the keyword lit.
func (p *parser) literal(lit string) error {
	if len(p.data)-p.pos < len(lit) || string(p.data[p.pos:p.pos+len(lit)]) != lit {
		return syntaxErr(p.pos, "invalid literal, want "+lit)
	}
	p.pos += len(lit)
	p.put(lit)
	return nil
}

// str parses a string.
func (p *parser) str() error {
	end, kind, err := scanString(p.data, p.pos)
	if err != nil {
		return err
	}
	if p.emit {
		p.out = appendStringContent(p.out, p.data[p.pos+1:end], kind)
	}
	p.pos = end + 1
	return nil
}

// appendStringContent appends validated string content raw of the given
// kind in Python's style.
func appendStringContent(dst, raw []byte, kind strKind) []byte {
	if kind != strPlain {
		return appendReescaped(dst, raw)
	}
	dst = append(dst, '"')
	dst = append(dst, raw...)
	return append(dst, '"')
}

// number parses a number.
func (p *parser) number() error {
	start := p.pos
	end, isInt, err := scanNumber(p.data, start)
	if err != nil {
		return err
	}
	lit := p.data[start:end]
	p.pos = end
	if isInt {
		if p.emit {
			if string(lit) == "-0" {
				lit = lit[1:]
			}
			p.out = append(p.out, lit...)
		}
		return nil
	}
	f, err := parseFloat(lit, start)
	if err != nil {
		return err
	}
	if p.emit {
		p.out = AppendFloat(p.out, f)
	}
	return nil
}

// array parses an array nested at depth.
func (p *parser) array(depth int) error {
	if depth > maxDepth {
		return syntaxErr(p.pos, "nesting deeper than "+strconv.Itoa(maxDepth))
	}
	p.pos++
	p.put("[")
	p.skipWS()
	if p.peek() == ']' {
		p.pos++
		p.put("]")
		return nil
	}
	for {
		if err := p.value(depth); err != nil {
			return err
		}
		if more, err := p.next(']', "]"); !more {
			return err
		}
	}
}

// object parses an object nested at depth.
func (p *parser) object(depth int) error {
	if depth > maxDepth {
		return syntaxErr(p.pos, "nesting deeper than "+strconv.Itoa(maxDepth))
	}
	p.pos++
	p.put("{")
	p.skipWS()
	if p.peek() == '}' {
		p.pos++
		p.put("}")
		return nil
	}
	var keys keySet
	for {
		start := p.pos
		if p.peek() != '"' {
			return p.unexpected("a string key")
		}
		end, kind, err := scanString(p.data, start)
		if err != nil {
			return err
		}
		if keys.add(p.data, start+1, end, kind) {
			return syntaxErr(start, "duplicate key "+strconv.Quote(unquote(p.data[start+1:end], kind)))
		}
		if p.emit {
			p.out = appendStringContent(p.out, p.data[start+1:end], kind)
		}
		p.pos = end + 1
		if !p.colon() {
			return p.unexpected("':'")
		}
		if err := p.value(depth); err != nil {
			return err
		}
		if more, err := p.next('}', "}"); !more {
			return err
		}
	}
}

// colon consumes the ':' after a key and the whitespace around it.
func (p *parser) colon() bool {
	d, i := p.data, p.pos
	if i+2 < len(d) && d[i] == ':' && d[i+1] == ' ' && d[i+2] > ' ' {
		p.pos = i + 2 // Python's ": ", the common case
	} else {
		p.skipWS()
		if p.peek() != ':' {
			return false
		}
		p.pos++
		p.skipWS()
	}
	p.put(": ")
	return true
}

// next consumes what follows a member or element, with the whitespace
// around it: ',' reports more to come; the closing byte c (written as cs)
// reports the end; anything else is an error.
func (p *parser) next(c byte, cs string) (more bool, err error) {
	d, i := p.data, p.pos
	if i+2 < len(d) && d[i] == ',' && d[i+1] == ' ' && d[i+2] > ' ' {
		p.pos = i + 2 // Python's ", ", the common case
		p.put(", ")
		return true, nil
	}
	p.skipWS()
	switch p.peek() {
	case ',':
		p.pos++
		p.put(", ")
		p.skipWS()
		return true, nil
	case c:
		p.pos++
		p.put(cs)
		return false, nil
	}
	return false, p.unexpected("',' or '" + cs + "'")
}

// A keySet detects duplicate keys in one object. The first keys are kept
// as offsets of their raw content and compared directly; past that a map
// takes over, so that large objects stay linear.
type keySet struct {
	small [16]rawKey
	n     int
	big   map[string]struct{}
}

// A rawKey locates the raw content of a key in the input. w holds its
// first eight bytes, for a quick comparison.
type rawKey struct {
	lo, hi int32
	kind   strKind
	w      uint64
}

// add records the key whose raw content is data[lo:hi] and reports whether
// it was already present.
func (s *keySet) add(data []byte, lo, hi int, kind strKind) (dup bool) {
	if s.big != nil || hi > math.MaxInt32 {
		return s.addBig(data, lo, hi, kind)
	}
	key := rawKey{int32(lo), int32(hi), kind, firstWord(data, lo, hi)}
	for k := range s.small[:s.n] {
		o := &s.small[k]
		if o.kind != strEscaped && kind != strEscaped && (o.w != key.w || o.hi-o.lo != key.hi-key.lo) {
			continue // the common case: different keys, told apart cheaply
		}
		if sameKey(data, o, &key) {
			return true
		}
	}
	if s.n < len(s.small) {
		s.small[s.n] = key
		s.n++
		return false
	}
	return s.addBig(data, lo, hi, kind)
}

// firstWord returns up to eight bytes of data[lo:hi] as a little-endian
// word, zero-padded.
func firstWord(data []byte, lo, hi int) uint64 {
	if n := hi - lo; lo+8 <= len(data) {
		w := binary.LittleEndian.Uint64(data[lo:])
		if n < 8 {
			w &= 1<<(8*n) - 1
		}
		return w
	}
	var w uint64
	for k := min(hi, lo+8) - 1; k >= lo; k-- {
		w = w<<8 | uint64(data[k])
	}
	return w
}

// addBig is add for objects too large for the small set.
func (s *keySet) addBig(data []byte, lo, hi int, kind strKind) (dup bool) {
	if s.big == nil {
		s.big = make(map[string]struct{}, 2*len(s.small))
		for _, k := range s.small[:s.n] {
			s.big[unquote(data[k.lo:k.hi], k.kind)] = struct{}{}
		}
	}
	k := unquote(data[lo:hi], kind)
	if _, dup = s.big[k]; !dup {
		s.big[k] = struct{}{}
	}
	return dup
}

// sameKey reports whether two raw keys in data decode to the same string.
func sameKey(data []byte, a, b *rawKey) bool {
	if a.kind == strEscaped || b.kind == strEscaped {
		return unquote(data[a.lo:a.hi], a.kind) == unquote(data[b.lo:b.hi], b.kind)
	}
	return a.w == b.w && a.hi-a.lo == b.hi-b.lo &&
		(a.hi-a.lo <= 8 || string(data[a.lo:a.hi]) == string(data[b.lo:b.hi]))
}
