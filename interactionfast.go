package comply

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// decodeInteractionFast decodes the common form of an interaction's JSON
// (lower-case keys of interactionJSON, each once, plain values) without
// reflection. It reports false for anything else, well-formed or not, and
// DecodeInteraction then takes encoding/json's path, which gives the same
// result or the error: the fast path never accepts what that path refuses.
func decodeInteractionFast(b string) (Interaction, bool) {
	var l interactionJSON
	p := fastParser{s: b}
	p.ws()
	if !p.lit('{') {
		return Interaction{}, false
	}
	var seen uint16
	p.ws()
	if p.peek() == '}' {
		p.i++
	} else {
		for {
			p.ws()
			key, ok := p.plainString()
			if !ok {
				return Interaction{}, false
			}
			p.ws()
			if !p.lit(':') {
				return Interaction{}, false
			}
			p.ws()
			bit, ok := p.field(key, &l)
			if !ok || seen&bit != 0 {
				return Interaction{}, false
			}
			seen |= bit
			p.ws()
			if p.lit(',') {
				continue
			}
			if p.lit('}') {
				break
			}
			return Interaction{}, false
		}
	}
	p.ws()
	if p.i != len(p.s) || l.Input == nil {
		return Interaction{}, false
	}
	in, err := l.interaction()
	if err != nil {
		return Interaction{}, false
	}
	if md := l.Metadata; len(md) > 0 && string(md) != "null" {
		if md[0] != '{' {
			return Interaction{}, false
		}
		in.Metadata = json.RawMessage(md)
	}
	return in, true
}

// A fastParser reads JSON from a string: the strings it returns share
// its memory.
type fastParser struct {
	s string
	i int
}

func (p *fastParser) peek() byte {
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *fastParser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *fastParser) lit(c byte) bool {
	if p.peek() == c {
		p.i++
		return true
	}
	return false
}

func (p *fastParser) word(w string) bool {
	if strings.HasPrefix(p.s[p.i:], w) {
		p.i += len(w)
		return true
	}
	return false
}

// field decodes the value of key into l and returns key's bit.
func (p *fastParser) field(key string, l *interactionJSON) (uint16, bool) {
	var ok bool
	switch key {
	case "input":
		l.Input, ok = p.optString()
		return 1 << 0, ok
	case "output":
		l.Output, ok = p.optString()
		return 1 << 1, ok
	case "provider":
		l.Provider, ok = p.optString()
		return 1 << 2, ok
	case "model":
		l.Model, ok = p.optString()
		return 1 << 3, ok
	case "conversation_id":
		l.ConversationID, ok = p.optString()
		return 1 << 4, ok
	case "block_reason":
		l.BlockReason, ok = p.optString()
		return 1 << 5, ok
	case "timestamp":
		l.Timestamp, ok = p.optString()
		return 1 << 6, ok
	case "safety_passed":
		switch {
		case p.word("true"):
			v := true
			l.SafetyPassed = &v
		case p.word("false"):
			v := false
			l.SafetyPassed = &v
		case p.word("null"):
		default:
			return 0, false
		}
		return 1 << 7, true
	case "detectors_triggered":
		l.DetectorsTriggered, ok = p.strings()
		return 1 << 8, ok
	case "alerts":
		l.Alerts, ok = p.strings()
		return 1 << 9, ok
	case "latency_ms":
		if p.word("null") {
			return 1 << 10, true
		}
		tok, ok := p.number(true)
		f, err := strconv.ParseFloat(tok, 64)
		if !ok || err != nil {
			return 0, false
		}
		l.LatencyMS = &f
		return 1 << 10, true
	case "input_tokens", "output_tokens":
		bit, dst := uint16(1<<11), &l.InputTokens
		if key == "output_tokens" {
			bit, dst = 1<<12, &l.OutputTokens
		}
		if p.word("null") {
			return bit, true
		}
		tok, ok := p.number(false)
		n, err := strconv.ParseInt(tok, 10, 64)
		if !ok || err != nil {
			return 0, false
		}
		*dst = &n
		return bit, true
	case "metadata":
		if p.word("null") {
			return 1 << 13, true
		}
		if p.peek() != '{' {
			return 0, false
		}
		start := p.i
		if !p.skipObject() || !json.Valid([]byte(p.s[start:p.i])) {
			return 0, false
		}
		l.Metadata = json.RawMessage(p.s[start:p.i])
		return 1 << 13, true
	}
	return 0, false
}

// plainString reads a string without escapes, as a key is.
func (p *fastParser) plainString() (string, bool) {
	if !p.lit('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			s := p.s[start:p.i]
			p.i++
			return s, true
		case c == '\\' || c < 0x20 || c >= utf8.RuneSelf:
			return "", false
		}
		p.i++
	}
	return "", false
}

// optString reads a string or null (nil).
func (p *fastParser) optString() (*string, bool) {
	if p.word("null") {
		return nil, true
	}
	s, ok := p.str()
	return &s, ok
}

// str reads a string: one without escapes directly, one with them through
// encoding/json; invalid UTF-8 or a control character is left to the slow
// path.
func (p *fastParser) str() (string, bool) {
	if !p.lit('"') {
		return "", false
	}
	start, escaped, ascii := p.i, false, true
	for p.i < len(p.s) {
		p.i += plainASCII(p.s[p.i:])
		if p.i >= len(p.s) {
			break
		}
		c := p.s[p.i]
		switch {
		case c == '"':
			raw := p.s[start:p.i]
			p.i++
			if !ascii && !utf8.ValidString(raw) {
				return "", false
			}
			if !escaped {
				return raw, true
			}
			var s string
			if json.Unmarshal([]byte(p.s[start-1:p.i]), &s) != nil {
				return "", false
			}
			return s, true
		case c == '\\':
			escaped = true
			p.i++
		case c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		p.i++
	}
	return "", false
}

// plainASCII returns the length of the prefix of b that holds only
// printable ASCII other than '"' and '\\', eight bytes at a time: the
// bytes a JSON string holds as they are.
func plainASCII(b string) int {
	const (
		ones  = 0x0101010101010101
		highs = 0x8080808080808080
	)
	i := 0
	for ; i+8 <= len(b); i += 8 {
		x := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
			uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
		// Any byte < 0x20, == '"', == '\\' or >= 0x80 (the "has a zero
		// byte" and "has a byte less than n" word tests, which are exact
		// as to whether there is one, the only question asked here).
		q, bs := x^(ones*'"'), x^(ones*'\\')
		special := ((x-ones*0x20)&^x | (q-ones)&^q | (bs-ones)&^bs | x) & highs
		if special != 0 {
			break
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			return i
		}
	}
	return i
}

// strings reads an array of strings, or null.
func (p *fastParser) strings() ([]string, bool) {
	if p.word("null") {
		return nil, true
	}
	if !p.lit('[') {
		return nil, false
	}
	out := []string{}
	p.ws()
	if p.lit(']') {
		return out, true
	}
	for {
		p.ws()
		s, ok := p.str()
		if !ok {
			return nil, false
		}
		out = append(out, s)
		p.ws()
		if p.lit(',') {
			continue
		}
		return out, p.lit(']')
	}
}

// number reads a JSON number: an integer, or with frac a fraction and an
// exponent too. It returns nil for anything else.
func (p *fastParser) number(frac bool) (string, bool) {
	start := p.i
	p.lit('-')
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case c >= '1' && c <= '9':
		p.digits()
	default:
		return "", false
	}
	if frac {
		if p.lit('.') && !p.digits() {
			return "", false
		}
		if c := p.peek(); c == 'e' || c == 'E' {
			p.i++
			if !p.lit('+') {
				p.lit('-')
			}
			if !p.digits() {
				return "", false
			}
		}
	}
	if c := p.peek(); c == '.' || c == 'e' || c == 'E' || c >= '0' && c <= '9' {
		return "", false
	}
	return p.s[start:p.i], true
}

func (p *fastParser) digits() bool {
	start := p.i
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// skipObject moves past the object at p.i, tracking strings and nesting;
// json.Valid checks it afterwards.
func (p *fastParser) skipObject() bool {
	depth := 0
	for ; p.i < len(p.s); p.i++ {
		switch p.s[p.i] {
		case '"':
			for p.i++; p.i < len(p.s) && p.s[p.i] != '"'; p.i++ {
				if p.s[p.i] == '\\' {
					p.i++
				}
			}
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				p.i++
				return true
			}
		}
	}
	return false
}
