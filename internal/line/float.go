package line

import (
	"math"
	"strconv"
)

// AppendFloat appends f as Python's repr(float) writes it, which is also how
// json.dumps writes floats: the shortest digits that round-trip, in fixed
// notation with at least one fractional digit ("2.0", "250.5", "0.0001")
// when the decimal exponent e of d.ddd×10^e satisfies -4 <= e < 16, and in
// scientific notation otherwise ("1e-07", "1.5e+16", "1e+16"), with a sign
// and at least two digits in the exponent and no ".0" after a one-digit
// mantissa. Negative zero is "-0.0".
//
// NaN and the infinities are not JSON; AppendFloat writes them as json.dumps
// does ("NaN", "Infinity", "-Infinity"), and callers that need valid JSON
// must reject them first, as Append does.
func AppendFloat(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 && (f != 0 || !math.Signbit(f)) {
		// An integral value in fixed notation: its digits and ".0".
		dst = strconv.AppendInt(dst, int64(f), 10)
		return append(dst, '.', '0')
	}
	var buf [32]byte
	sci := strconv.AppendFloat(buf[:0], f, 'e', -1, 64)
	neg := sci[0] == '-'
	if neg {
		sci = sci[1:]
	}
	// sci is now d[.ddd]e±XX.
	epos := len(sci) - 4
	for sci[epos] != 'e' {
		epos--
	}
	exp := 0
	for _, c := range sci[epos+2:] {
		exp = exp*10 + int(c-'0')
	}
	if sci[epos+1] == '-' {
		exp = -exp
	}
	if neg {
		dst = append(dst, '-')
	}
	if exp < -4 || exp >= 16 {
		return append(dst, sci...)
	}
	return appendFixed(dst, sci[:epos], exp)
}

// appendFixed appends the mantissa m ("d" or "d.ddd") scaled by 10^exp in
// fixed notation with at least one digit after the point.
func appendFixed(dst, m []byte, exp int) []byte {
	var dbuf [24]byte
	digits := append(dbuf[:0], m[0])
	if len(m) > 2 {
		digits = append(digits, m[2:]...)
	}
	if exp < 0 {
		dst = append(dst, '0', '.')
		for i := -1; i > exp; i-- {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	intLen := exp + 1
	if len(digits) <= intLen {
		dst = append(dst, digits...)
		for i := len(digits); i < intLen; i++ {
			dst = append(dst, '0')
		}
		return append(dst, '.', '0')
	}
	dst = append(dst, digits[:intLen]...)
	dst = append(dst, '.')
	return append(dst, digits[intLen:]...)
}
