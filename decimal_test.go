package comply

import "testing"

func TestParseDecimal(t *testing.T) {
	tests := []struct {
		in   string
		want decimal
		ok   bool
	}{
		{"0", decimal{}, true},
		{"-0.000", decimal{}, true},
		{"0e5", decimal{}, true},
		{"2", decimal{digits: "2"}, true},
		{"2.0", decimal{digits: "2"}, true},
		{"20e-1", decimal{digits: "2"}, true},
		{"1200", decimal{digits: "12", exp: 2}, true},
		{"-0.015", decimal{neg: true, digits: "15", exp: -3}, true},
		{"1.5E+3", decimal{digits: "15", exp: 2}, true},
		{"12345678901234567890", decimal{digits: "1234567890123456789", exp: 1}, true},
		{"1e999999999999", decimal{digits: "1", exp: 999999999999}, true},
		{"1e99999999999999999999", decimal{}, false}, // exponent beyond int64
		{"", decimal{}, false},
		{"-", decimal{}, false},
		{"+1", decimal{}, false},
		{"01", decimal{}, false},
		{"1.", decimal{}, false},
		{".5", decimal{}, false},
		{"1e", decimal{}, false},
		{"1e+", decimal{}, false},
		{"1x", decimal{}, false},
		{"NaN", decimal{}, false},
		{"0x10", decimal{}, false},
	}
	for _, tt := range tests {
		got, ok := parseDecimal(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("parseDecimal(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
