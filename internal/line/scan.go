package line

import (
	"strconv"
	"unicode/utf8"
)

// This file holds the lexical layer shared by AppendJSON and Decode:
// validating scanners for JSON strings and numbers, and the string decoders.
// The scanners are strict: they accept exactly RFC 8259 and additionally
// reject what Python could not write back unchanged (lone surrogates,
// invalid UTF-8).

// A strKind classifies the raw content of a valid JSON string.
type strKind uint8

const (
	strPlain   strKind = iota // only plain bytes: already in Python's style
	strRaw                    // no escapes, but DEL or non-ASCII characters
	strEscaped                // at least one escape
)

// scanString validates the JSON string whose opening quote is b[i] and
// returns the index of its closing quote, so that the raw content is
// b[i+1:end], and the kind of the content.
func scanString(b []byte, i int) (end int, kind strKind, err error) {
	j := i + 1
	for {
		if j = plainEnd(b, j); j >= len(b) {
			break
		}
		c := b[j]
		switch {
		case c == '"':
			return j, kind, nil
		case c == '\\':
			kind = strEscaped
			if j, err = scanEscape(b, j); err != nil {
				return 0, 0, err
			}
		case c < 0x20:
			return 0, 0, syntaxErr(j, "control character "+quoteByte(c)+" in string")
		case c < utf8.RuneSelf: // DEL
			kind = max(kind, strRaw)
			j++
		default:
			r, size := utf8.DecodeRune(b[j:])
			if r == utf8.RuneError && size == 1 {
				return 0, 0, utf8Err(j)
			}
			kind = max(kind, strRaw)
			j += size
		}
	}
	return 0, 0, syntaxErr(i, "unterminated string")
}

// scanEscape validates the escape sequence starting at b[i] == '\\' and
// returns the index just after it. A \u escape of a high surrogate must be
// followed by a \u escape of a low surrogate; a lone surrogate is an error.
func scanEscape(b []byte, i int) (int, error) {
	if i+1 >= len(b) {
		return 0, syntaxErr(i, "unterminated string")
	}
	switch b[i+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return i + 2, nil
	case 'u':
	default:
		return 0, syntaxErr(i, "invalid escape \\"+string(rune(b[i+1])))
	}
	r, ok := hex4(b, i+2)
	if !ok {
		return 0, syntaxErr(i, "invalid \\u escape")
	}
	switch {
	case r >= 0xdc00 && r <= 0xdfff:
		return 0, syntaxErr(i, "lone surrogate escape")
	case r < 0xd800 || r > 0xdbff:
		return i + 6, nil
	}
	if i+7 >= len(b) || b[i+6] != '\\' || b[i+7] != 'u' {
		return 0, syntaxErr(i, "lone surrogate escape")
	}
	if lo, ok := hex4(b, i+8); !ok || lo < 0xdc00 || lo > 0xdfff {
		return 0, syntaxErr(i, "lone surrogate escape")
	}
	return i + 12, nil
}

// hex4 decodes the four hex digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// nextRune decodes one character of string content raw, already validated
// by scanString, starting at raw[i]: a plain byte, an escape or a UTF-8
// sequence. It returns the character and the index after it.
func nextRune(raw []byte, i int) (rune, int) {
	c := raw[i]
	if c != '\\' {
		if c < utf8.RuneSelf {
			return rune(c), i + 1
		}
		r, size := utf8.DecodeRune(raw[i:])
		return r, i + size
	}
	switch raw[i+1] {
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case 'u':
		r, _ := hex4(raw, i+2)
		if r < 0xd800 || r > 0xdbff {
			return r, i + 6
		}
		lo, _ := hex4(raw, i+8)
		return 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00), i + 12
	}
	return rune(raw[i+1]), i + 2 // '"', '\\' or '/'
}

// appendUnescaped appends the characters of validated string content raw
// to dst as UTF-8.
func appendUnescaped(dst, raw []byte) []byte {
	for i := 0; i < len(raw); {
		j := i
		for j < len(raw) && raw[j] != '\\' {
			j++
		}
		dst = append(dst, raw[i:j]...)
		if j == len(raw) {
			break
		}
		var r rune
		r, i = nextRune(raw, j)
		dst = utf8.AppendRune(dst, r)
	}
	return dst
}

// unquote returns validated string content raw as a Go string.
func unquote(raw []byte, kind strKind) string {
	if kind != strEscaped {
		return string(raw)
	}
	return string(appendUnescaped(make([]byte, 0, len(raw)), raw))
}

// appendReescaped appends validated string content raw as a JSON string in
// Python's style, as AppendString would write the decoded string.
func appendReescaped(dst, raw []byte) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(raw); {
		j := i
		for j < len(raw) && plainByte[raw[j]] {
			j++
		}
		dst = append(dst, raw[i:j]...)
		if j == len(raw) {
			break
		}
		var r rune
		r, i = nextRune(raw, j)
		switch {
		case r >= utf8.RuneSelf:
			dst = appendEscapedRune(dst, r)
		case plainByte[r]:
			dst = append(dst, byte(r))
		default:
			dst = appendEscapedASCII(dst, byte(r))
		}
	}
	return append(dst, '"')
}

// scanNumber validates the JSON number starting at b[i] and returns the
// index just after it and whether it is an integer literal (no fraction and
// no exponent).
func scanNumber(b []byte, i int) (end int, isInt bool, err error) {
	j := i
	if j < len(b) && b[j] == '-' {
		j++
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case j < len(b) && '1' <= b[j] && b[j] <= '9':
		j = skipDigits(b, j+1)
	default:
		return 0, false, syntaxErr(i, "invalid number")
	}
	isInt = true
	if j < len(b) && b[j] == '.' {
		isInt = false
		k := skipDigits(b, j+1)
		if k == j+1 {
			return 0, false, syntaxErr(i, "invalid number: no digits after the decimal point")
		}
		j = k
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		isInt = false
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		k := skipDigits(b, j)
		if k == j {
			return 0, false, syntaxErr(i, "invalid number: no digits in the exponent")
		}
		j = k
	}
	return j, isInt, nil
}

// skipDigits returns the index of the first non-digit at or after b[i].
func skipDigits(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}

// pow10 holds the powers of ten that float64 represents exactly.
var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// parseFloat converts the number literal lit, already validated by
// scanNumber, to a float64. A literal beyond the float64 range is an error;
// one that underflows becomes zero, as in Python.
func parseFloat(lit []byte, off int) (float64, error) {
	if f, ok := parseSimpleFloat(lit); ok {
		return f, nil
	}
	f, err := strconv.ParseFloat(string(lit), 64)
	if err != nil {
		return 0, syntaxErr(off, "number "+clip(lit)+" out of float64 range")
	}
	return f, nil
}

// parseSimpleFloat converts literals of the form -?digits(.digits)? with at
// most 15 significant digits exactly and cheaply: the mantissa and the power
// of ten are both exact in float64, so one division rounds correctly.
func parseSimpleFloat(lit []byte) (float64, bool) {
	i, neg := 0, false
	if lit[0] == '-' {
		i, neg = 1, true
	}
	var mant uint64
	digits, frac, seenDot := 0, 0, false
	for ; i < len(lit); i++ {
		c := lit[i]
		switch {
		case c == '.':
			seenDot = true
			continue
		case c < '0' || c > '9':
			return 0, false
		}
		mant = mant*10 + uint64(c-'0')
		if mant != 0 {
			digits++
		}
		if seenDot {
			frac++
		}
	}
	if digits > 15 || frac >= len(pow10) {
		return 0, false
	}
	f := float64(mant) / pow10[frac]
	if neg {
		f = -f
	}
	return f, true
}

// parseInt64 converts the integer literal lit, already validated by
// scanNumber, to an int64, reporting false when it is out of range.
func parseInt64(lit []byte) (int64, bool) {
	neg := lit[0] == '-'
	if neg {
		lit = lit[1:]
	}
	if len(lit) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range lit {
		u = u*10 + uint64(c-'0')
	}
	switch {
	case neg && u <= 1<<63:
		return int64(-u), true
	case !neg && u < 1<<63:
		return int64(u), true
	}
	return 0, false
}

// clip quotes b for an error message, shortened if long.
func clip(b []byte) string {
	const max = 40
	if len(b) > max {
		return strconv.Quote(string(b[:max])) + "..."
	}
	return strconv.Quote(string(b))
}

// quoteByte quotes one byte for an error message.
func quoteByte(c byte) string {
	return strconv.QuoteRune(rune(c))
}
