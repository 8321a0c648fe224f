package line

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// plainByte reports the bytes that stand for themselves in a string written
// by Python with ensure_ascii: printable ASCII other than '"' and '\\'.
var plainByte = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// plainEnd returns the index of the first byte at or after b[i] that is
// not plain (see plainByte), or len(b). It tests eight bytes at a time.
func plainEnd(b []byte, i int) int {
	for ; i+16 <= len(b); i += 16 {
		w := b[i : i+16 : i+16]
		m0 := nonPlainMask(binary.LittleEndian.Uint64(w[:8]))
		m1 := nonPlainMask(binary.LittleEndian.Uint64(w[8:]))
		if m0|m1 != 0 {
			if m0 != 0 {
				return i + bits.TrailingZeros64(m0)/8
			}
			return i + 8 + bits.TrailingZeros64(m1)/8
		}
	}
	if i+8 <= len(b) {
		if m := nonPlainMask(binary.LittleEndian.Uint64(b[i:])); m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
		i += 8
	}
	for i < len(b) && plainByte[b[i]] {
		i++
	}
	return i
}

// nonPlainMask flags the bytes of w (little endian) that are not plain:
// below 0x20, 0x7f or above, '"' or '\\'. It combines the classic "has a
// byte less than", "has a byte more than" and "has a zero byte" bit
// tricks. A flag may be set spuriously, but only above a byte correctly
// flagged, since borrows and carries run upwards; so the mask is zero
// exactly when all bytes are plain, and its lowest flag is exact.
func nonPlainMask(w uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	less := (w - ones*0x20) &^ w
	more := (w + ones) | w // a byte of 0x7f or more ends up with its high bit set
	q := w ^ (ones * '"')
	quote := (q - ones) &^ q
	bs := w ^ (ones * '\\')
	backslash := (bs - ones) &^ bs
	return (less | more | quote | backslash) & highs
}

// AppendString appends s as a JSON string the way Python's json.dumps writes
// it with ensure_ascii (the default): the short escapes \" \\ \n \r \t \b
// \f, \u00XX for the other control characters and DEL, \uXXXX in lowercase
// hex for every non-ASCII character, and a surrogate pair of \uXXXX escapes
// for characters beyond U+FFFF. "/" and the HTML characters are not
// escaped.
//
// s is assumed to be valid UTF-8; each byte of an invalid sequence is
// written as \ufffd, the replacement character.
func AppendString(dst []byte, s string) []byte {
	dst, _ = appendString(dst, s)
	return dst
}

// appendString is AppendString that also reports whether s was valid UTF-8.
func appendString(dst []byte, s string) ([]byte, bool) {
	valid := true
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		// []byte(s) does not copy here: plainEnd only reads it.
		if i = plainEnd([]byte(s), i); i == len(s) {
			break
		}
		c := s[i]
		dst = append(dst, s[start:i]...)
		if c < utf8.RuneSelf {
			dst = appendEscapedASCII(dst, c)
			i++
		} else {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				valid = false
			}
			dst = appendEscapedRune(dst, r)
			i += size
		}
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), valid
}

// appendEscapedASCII appends the escape for an ASCII byte that is not plain.
func appendEscapedASCII(dst []byte, c byte) []byte {
	switch c {
	case '"':
		return append(dst, '\\', '"')
	case '\\':
		return append(dst, '\\', '\\')
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	return appendU4(dst, rune(c))
}

// appendEscapedRune appends a non-ASCII rune as one \uXXXX escape or, beyond
// the Basic Multilingual Plane, as a surrogate pair.
func appendEscapedRune(dst []byte, r rune) []byte {
	if r < 0x10000 {
		return appendU4(dst, r)
	}
	r -= 0x10000
	dst = appendU4(dst, 0xd800+(r>>10))
	return appendU4(dst, 0xdc00+(r&0x3ff))
}

// appendU4 appends \uXXXX for a code unit below 0x10000.
func appendU4(dst []byte, r rune) []byte {
	return append(dst, '\\', 'u',
		hexDigits[r>>12&0xf], hexDigits[r>>8&0xf], hexDigits[r>>4&0xf], hexDigits[r&0xf])
}
