package line

import (
	"math"
	"strconv"
	"testing"
)

func TestAppendFloat(t *testing.T) {
	// The expectations are Python 3's repr() of the same values.
	tests := []struct {
		in   float64
		want string
	}{
		{0.0, "0.0"},
		{math.Copysign(0, -1), "-0.0"},
		{1.0, "1.0"},
		{2.0, "2.0"},
		{-1.5, "-1.5"},
		{100.0, "100.0"},
		{250.5, "250.5"},
		{0.5, "0.5"},
		{0.1, "0.1"},
		{3.14159, "3.14159"},
		{1e-07, "1e-07"},
		{1e-05, "1e-05"},
		{1.2345e-05, "1.2345e-05"},
		{9.999999999999999e-05, "9.999999999999999e-05"},
		{0.0001, "0.0001"},
		{0.00012345, "0.00012345"},
		{123456789.0, "123456789.0"},
		{12345678.9, "12345678.9"},
		{1e15, "1000000000000000.0"},
		{1234567890123456.7, "1234567890123456.8"},
		{9999999999999998.0, "9999999999999998.0"},
		{1e16, "1e+16"},
		{1.5e16, "1.5e+16"},
		{123456789012345680.0, "1.2345678901234568e+17"},
		{1e21, "1e+21"},
		{1e22, "1e+22"},
		{1e100, "1e+100"},
		{1.7976931348623157e308, "1.7976931348623157e+308"},
		{-1.7976931348623157e308, "-1.7976931348623157e+308"},
		{5e-324, "5e-324"},
		{0.30000000000000004, "0.30000000000000004"},
		{math.NaN(), "NaN"},
		{math.Inf(1), "Infinity"},
		{math.Inf(-1), "-Infinity"},
	}
	for _, tt := range tests {
		if got := string(AppendFloat([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("AppendFloat(%v) = %q, want %q", tt.in, got[1:], tt.want)
		}
	}
}

func TestParseSimpleFloatExact(t *testing.T) {
	// The cheap path must agree with strconv on the literals it takes.
	for _, lit := range []string{"0", "-0", "0.0", "-0.0", "250.5", "12", "1234.0",
		"0.875", "999999999999999", "0.000000000000000000001", "123456789012.345",
		"0.1", "0.7", "1.1", "9007199254740993", "0.30000000000000004"} {
		want, err := parseFloatStrconv(lit)
		if err != nil {
			t.Fatal(err)
		}
		got, err := parseFloat([]byte(lit), 0)
		if err != nil {
			t.Fatalf("parseFloat(%q): %v", lit, err)
		}
		if got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("parseFloat(%q) = %v, want %v", lit, got, want)
		}
	}
}

func parseFloatStrconv(s string) (float64, error) { return strconv.ParseFloat(s, 64) }
