package comply

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// MetadataMap decodes the entry's metadata, a JSON object, into a map.
// Numbers are json.Number, so integers of any size and floats keep their
// stored text (2.0 stays "2.0", 12345678901234567890 stays exact): use its
// Int64, Float64 or String method. Nested objects are map[string]any,
// arrays []any, and the other values are string, bool or nil. An entry
// without metadata gives an empty map. Metadata itself holds the object
// exactly as stored, key order included.
func (e *Entry) MetadataMap() (map[string]any, error) {
	m := map[string]any{}
	if len(bytes.TrimSpace(e.Metadata)) == 0 {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(e.Metadata))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("comply: metadata of entry %s: %w", e.ID, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("comply: metadata of entry %s: data after the object", e.ID)
	}
	switch v := v.(type) {
	case nil: // null: no metadata
		return m, nil
	case map[string]any:
		return v, nil
	default:
		return nil, fmt.Errorf("comply: metadata of entry %s: a %T, not an object", e.ID, v)
	}
}

// A decimal is a number in canonical form: its significant digits, without
// leading or trailing zeros, times ten to exp; "" digits for zero. Two JSON
// numbers are equal exactly when their decimals are.
type decimal struct {
	neg    bool
	digits string
	exp    int64
}

// parseDecimal parses s, a number in JSON's grammar, exactly: no rounding,
// so 2, 2.0 and 20e-1 are equal and large integers stay distinct.
func parseDecimal(s string) (decimal, bool) {
	var d decimal
	if strings.HasPrefix(s, "-") {
		d.neg, s = true, s[1:]
	}
	i := digitsEnd(s, 0)
	if i == 0 || (s[0] == '0' && i > 1) {
		return decimal{}, false
	}
	intPart, frac := s[:i], ""
	if i < len(s) && s[i] == '.' {
		j := digitsEnd(s, i+1)
		if j == i+1 {
			return decimal{}, false
		}
		frac, i = s[i+1:j], j
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		k := digitsEnd(s, j)
		if k == j || k != len(s) {
			return decimal{}, false
		}
		exp, err := strconv.ParseInt(strings.TrimPrefix(s[i+1:], "+"), 10, 64)
		if err != nil || exp > 1<<40 || exp < -1<<40 { // beyond any float: not compared
			return decimal{}, false
		}
		d.exp, i = exp, k
	}
	if i != len(s) {
		return decimal{}, false
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	d.exp -= int64(len(frac))
	for strings.HasSuffix(digits, "0") {
		digits = digits[:len(digits)-1]
		d.exp++
	}
	if digits == "" {
		return decimal{}, true // zero, of either sign
	}
	d.digits = digits
	return d, true
}

// digitsEnd returns the index of the first non-digit in s at or after i.
func digitsEnd(s string, i int) int {
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return i
}
