package comply

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// decodeInteractionFast decodes the common form of an interaction's JSON
// (lower-case keys of interactionJSON, each once, plain values) without
// reflection. It reports false for anything else, well-formed or not, and
// DecodeInteraction then takes encoding/json's path, which gives the same
// result or the error: the fast path never accepts what that path refuses.
func decodeInteractionFast(b []byte) (Interaction, bool) {
	var l interactionJSON
	p := fastParser{b: b}
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
	if p.i != len(p.b) || l.Input == nil {
		return Interaction{}, false
	}
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
		in.Latency = msDuration(*l.LatencyMS)
	}
	if l.Timestamp != nil {
		t, err := ParseTime(*l.Timestamp, false)
		if err != nil {
			return Interaction{}, false
		}
		in.Time = t
	}
	if md := l.Metadata; len(md) > 0 && string(md) != "null" {
		if md[0] != '{' {
			return Interaction{}, false
		}
		in.Metadata = json.RawMessage(md)
	}
	return in, true
}

type fastParser struct {
	b []byte
	i int
}

func (p *fastParser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *fastParser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
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
	if bytes.HasPrefix(p.b[p.i:], []byte(w)) {
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
		tok := p.number(true)
		f, err := strconv.ParseFloat(string(tok), 64)
		if tok == nil || err != nil {
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
		tok := p.number(false)
		n, err := strconv.ParseInt(string(tok), 10, 64)
		if tok == nil || err != nil {
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
		if !p.skipObject() || !json.Valid(p.b[start:p.i]) {
			return 0, false
		}
		l.Metadata = json.RawMessage(bytes.Clone(p.b[start:p.i]))
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
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := string(p.b[start:p.i])
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
	start, escaped := p.i, false
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			raw := p.b[start:p.i]
			p.i++
			if !utf8.Valid(raw) {
				return "", false
			}
			if !escaped {
				return string(raw), true
			}
			var s string
			if json.Unmarshal(p.b[start-1:p.i], &s) != nil {
				return "", false
			}
			return s, true
		case c == '\\':
			escaped = true
			p.i++
		case c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
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
func (p *fastParser) number(frac bool) []byte {
	start := p.i
	p.lit('-')
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case c >= '1' && c <= '9':
		p.digits()
	default:
		return nil
	}
	if frac {
		if p.lit('.') && !p.digits() {
			return nil
		}
		if c := p.peek(); c == 'e' || c == 'E' {
			p.i++
			if !p.lit('+') {
				p.lit('-')
			}
			if !p.digits() {
				return nil
			}
		}
	}
	if c := p.peek(); c == '.' || c == 'e' || c == 'E' || c >= '0' && c <= '9' {
		return nil
	}
	return p.b[start:p.i]
}

func (p *fastParser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// skipObject moves past the object at p.i, tracking strings and nesting;
// json.Valid checks it afterwards.
func (p *fastParser) skipObject() bool {
	depth := 0
	for ; p.i < len(p.b); p.i++ {
		switch p.b[p.i] {
		case '"':
			for p.i++; p.i < len(p.b) && p.b[p.i] != '"'; p.i++ {
				if p.b[p.i] == '\\' {
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
