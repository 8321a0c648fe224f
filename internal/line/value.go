package line

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
)

var errDepth = errors.New("nesting deeper than " + strconv.Itoa(maxDepth))

// AppendValue appends v encoded as Python's json.dumps would write the
// equivalent Python value:
//
//   - nil as null, bools, strings (AppendString; invalid UTF-8 is an error
//     wrapping ErrInvalidUTF8), every int and uint kind as an integer;
//   - float64 with AppendFloat, so 2.0 stays "2.0"; float32 by its shortest
//     decimal form, so float32(0.1) is "0.1", not "0.10000000149011612";
//     NaN and the infinities are errors;
//   - json.Number and json.RawMessage re-emitted as AppendJSON does (a nil
//     RawMessage is null); []byte is not special;
//   - map[string]any and map[string]string as objects with sorted keys, since
//     Go maps have no order; []any and []string as arrays; nil maps and
//     slices as null, as encoding/json writes them;
//   - anything else through json.Marshal and then AppendJSON. Note that
//     encoding/json writes an integral float as an integer (2.0 as 2), so
//     floats inside structs lose their Python form.
//
// Nesting deeper than 1000 is an error. On error dst is returned unchanged.
func AppendValue(dst []byte, v any) ([]byte, error) {
	out, err := appendValue(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

// appendValue appends v, which sits inside depth arrays and objects.
func appendValue(dst []byte, v any, depth int) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case bool:
		return strconv.AppendBool(dst, v), nil
	case string:
		return appendValidString(dst, v)
	case int:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int8:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int16:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int32:
		return strconv.AppendInt(dst, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(dst, v, 10), nil
	case uint:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint8:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case uint64:
		return strconv.AppendUint(dst, v, 10), nil
	case uintptr:
		return strconv.AppendUint(dst, uint64(v), 10), nil
	case float64:
		return appendFiniteFloat(dst, v)
	case float32:
		return appendFloat32(dst, v)
	case json.Number:
		return appendNumber(dst, v)
	case json.RawMessage:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return appendJSONDepth(dst, v, depth)
	case map[string]any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return appendMap(dst, v, depth)
	case map[string]string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return appendMap(dst, v, depth)
	case []any:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return appendSlice(dst, v, depth)
	case []string:
		if v == nil {
			return append(dst, "null"...), nil
		}
		return appendSlice(dst, v, depth)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return dst, err
	}
	return appendJSONDepth(dst, b, depth)
}

// appendValidString appends s, which must be valid UTF-8.
func appendValidString(dst []byte, s string) ([]byte, error) {
	dst, ok := appendString(dst, s)
	if !ok {
		return dst, fmt.Errorf("string %s: %w", clip([]byte(s)), ErrInvalidUTF8)
	}
	return dst, nil
}

// appendFiniteFloat appends f, which must be finite.
func appendFiniteFloat(dst []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return dst, fmt.Errorf("unsupported float value %v", f)
	}
	return AppendFloat(dst, f), nil
}

// appendFloat32 appends f by way of its shortest decimal representation.
func appendFloat32(dst []byte, f float32) ([]byte, error) {
	if math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
		return dst, fmt.Errorf("unsupported float value %v", f)
	}
	var buf [32]byte
	s := strconv.AppendFloat(buf[:0], float64(f), 'g', -1, 32)
	f64, err := strconv.ParseFloat(string(s), 64)
	if err != nil {
		return dst, err
	}
	return AppendFloat(dst, f64), nil
}

// appendNumber appends a json.Number, which must be a JSON number literal.
func appendNumber(dst []byte, n json.Number) ([]byte, error) {
	b := []byte(n)
	if end, _, err := scanNumber(b, 0); err != nil || end != len(b) {
		return dst, fmt.Errorf("invalid json.Number %s", clip(b))
	}
	return AppendJSON(dst, b)
}

// appendMap appends m as an object with sorted keys.
func appendMap[V any](dst []byte, m map[string]V, depth int) ([]byte, error) {
	if depth+1 > maxDepth {
		return dst, errDepth
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	var err error
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		if dst, err = appendValidString(dst, k); err != nil {
			return dst, err
		}
		dst = append(dst, ": "...)
		if dst, err = appendValue(dst, m[k], depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, '}'), nil
}

// appendSlice appends s as an array.
func appendSlice[V any](dst []byte, s []V, depth int) ([]byte, error) {
	if depth+1 > maxDepth {
		return dst, errDepth
	}
	dst = append(dst, '[')
	var err error
	for i, v := range s {
		if i > 0 {
			dst = append(dst, ", "...)
		}
		if dst, err = appendValue(dst, v, depth+1); err != nil {
			return dst, err
		}
	}
	return append(dst, ']'), nil
}
