package main

import "testing"

func TestTermSafe(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"gpt-4", "gpt-4"},
		{"héllo �", "héllo �"},
		{"\x1b[31mred\x1b[0m", `\x1b[31mred\x1b[0m`},
		{"a\tb\nc\rd", `a\tb\nc\rd`},
		{"bad\xffbyte", `bad\xffbyte`},
		{"line\u2028sep", `line\u2028sep`},
	} {
		if got := termSafe(tc.in); got != tc.want {
			t.Errorf("termSafe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
