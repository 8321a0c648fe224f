package line

import (
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"
)

func TestAppendValue(t *testing.T) {
	type point struct {
		X int     `json:"x"`
		Y float64 `json:"y"`
		S string  `json:"s"`
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"nil", nil, `null`},
		{"true", true, `true`},
		{"string", "é</script>\n", `"\u00e9</script>\n"`},
		{"int", -42, `-42`},
		{"int8", int8(-8), `-8`},
		{"int16", int16(16), `16`},
		{"int32", int32(32), `32`},
		{"int64", int64(math.MinInt64), `-9223372036854775808`},
		{"uint", uint(7), `7`},
		{"uint8", uint8(255), `255`},
		{"uint16", uint16(16), `16`},
		{"uint32", uint32(32), `32`},
		{"uint64", uint64(math.MaxUint64), `18446744073709551615`},
		{"uintptr", uintptr(9), `9`},
		{"float64 integral", 2.0, `2.0`},
		{"float64 tiny", 1e-07, `1e-07`},
		{"float32", float32(0.1), `0.1`},
		{"float32 integral", float32(3), `3.0`},
		{"json.Number int", json.Number("12345678901234567890"), `12345678901234567890`},
		{"json.Number float", json.Number("1E5"), `100000.0`},
		{"RawMessage", json.RawMessage(`{"z":1,"a":[2.0]}`), `{"z": 1, "a": [2.0]}`},
		{"nil RawMessage", json.RawMessage(nil), `null`},
		{"bytes", []byte("hi"), `"aGk="`},
		{"map any", map[string]any{"b": 1, "a": 2.0, "c": []any{"x", nil}, "é": map[string]any{}}, `{"a": 2.0, "b": 1, "c": ["x", null], "\u00e9": {}}`},
		{"map string", map[string]string{"z": "1", "a": "2"}, `{"a": "2", "z": "1"}`},
		{"nil map", map[string]any(nil), `null`},
		{"slice any", []any{1, "a", true, 0.5, []string{"b"}}, `[1, "a", true, 0.5, ["b"]]`},
		{"nil slice", []string(nil), `null`},
		{"empty slice", []any{}, `[]`},
		{"struct", point{1, 2.5, "</>"}, `{"x": 1, "y": 2.5, "s": "</>"}`},
		{"map int", map[string]int{"b": 2, "a": 1}, `{"a": 1, "b": 2}`},
		{"time", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), `"2026-01-02T03:04:05Z"`},
	}
	for _, tt := range tests {
		got, err := AppendValue([]byte("x"), tt.in)
		if err != nil {
			t.Errorf("%s: AppendValue: %v", tt.name, err)
			continue
		}
		if string(got) != "x"+tt.want {
			t.Errorf("%s: AppendValue = %s, want %s", tt.name, got[1:], tt.want)
		}
	}
}

func TestAppendValueErrors(t *testing.T) {
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	tests := []struct {
		name string
		in   any
		utf8 bool
	}{
		{"NaN", math.NaN(), false},
		{"Inf", math.Inf(1), false},
		{"float32 Inf", float32(math.Inf(-1)), false},
		{"nested NaN", map[string]any{"a": []any{math.NaN()}}, false},
		{"invalid UTF-8", "a\xff", true},
		{"invalid UTF-8 key", map[string]string{"\xff": "a"}, true},
		{"invalid UTF-8 in slice", []string{"\xff"}, true},
		{"bad json.Number", json.Number("1.2.3"), false},
		{"json.Number with spaces", json.Number(" 1"), false},
		{"bad RawMessage", json.RawMessage(`{"a":1,"a":2}`), false},
		{"channel", make(chan int), false},
		{"cyclic", cyclic, false},
	}
	for _, tt := range tests {
		got, err := AppendValue([]byte("x"), tt.in)
		if err == nil {
			t.Errorf("%s: AppendValue = %s, want error", tt.name, got)
			continue
		}
		if string(got) != "x" {
			t.Errorf("%s: AppendValue changed dst to %q on error", tt.name, got)
		}
		if errors.Is(err, ErrInvalidUTF8) != tt.utf8 {
			t.Errorf("%s: errors.Is(%v, ErrInvalidUTF8) = %v", tt.name, err, !tt.utf8)
		}
	}
}
