package line

import (
	"errors"
	"strings"
	"testing"
)

func TestAppendJSON(t *testing.T) {
	// The expectations are Python 3's json.dumps(json.loads(in)).
	tests := []struct {
		in, want string
	}{
		{`{"b":1,"a":{"d":[1,2,{"z":null}],"c":true}}`, `{"b": 1, "a": {"d": [1, 2, {"z": null}], "c": true}}`},
		{`{"session_id": "abc123", "user": {"id": 42, "roles": ["admin", "auditor"], "verified": true}, "score": 0.875, "tags": [], "nothing": null, "zeta": 1, "alpha": 2.0, "big": 12345678901234567890, "tiny": 1e-07}`,
			`{"session_id": "abc123", "user": {"id": 42, "roles": ["admin", "auditor"], "verified": true}, "score": 0.875, "tags": [], "nothing": null, "zeta": 1, "alpha": 2.0, "big": 12345678901234567890, "tiny": 1e-07}`},
		{`12345678901234567890123`, `12345678901234567890123`},
		{`-12345678901234567890123`, `-12345678901234567890123`},
		{`0`, `0`},
		{`-0`, `0`},
		{`-12`, `-12`},
		{`-0.0`, `-0.0`},
		{`1E5`, `100000.0`},
		{`1.5E+3`, `1500.0`},
		{`1.0e-7`, `1e-07`},
		{`0.1e1`, `1.0`},
		{`2.50`, `2.5`},
		{`1e-400`, `0.0`},
		{`-1e-400`, `-0.0`},
		{`[1e15, 1e16, 123.456e2]`, `[1000000000000000.0, 1e+16, 12345.6]`},
		{`[ ]`, `[]`},
		{`{ }`, `{}`},
		{" \t\r\n[1 ,\n 2.50 ,\"x\" ] \n", `[1, 2.5, "x"]`},
		{`[[[]],{}]`, `[[[]], {}]`},
		{`[true,false,null]`, `[true, false, null]`},
		{`"\u00e9\/\ud83d\ude00"`, `"\u00e9/\ud83d\ude00"`},
		{`"\u00E9\uD83D\uDE00"`, `"\u00e9\ud83d\ude00"`},
		{`"é😀"`, `"\u00e9\ud83d\ude00"`},
		{`{"a":"\u0041\u007f"}`, `{"a": "A\u007f"}`},
		{`"\u0000"`, `"\u0000"`},
		{`"\b\f\n\r\t\"\\"`, `"\b\f\n\r\t\"\\"`},
		{`"\u0008\u000c\u000a"`, `"\b\f\n"`},
		{"\"\x7f\"", `"\u007f"`},
		{`{"a": 1, "\u00e9": 2, "é2": 3}`, `{"a": 1, "\u00e9": 2, "\u00e92": 3}`},
		{`{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10}`,
			`{"k1": 1, "k2": 2, "k3": 3, "k4": 4, "k5": 5, "k6": 6, "k7": 7, "k8": 8, "k9": 9, "k10": 10}`},
	}
	for _, tt := range tests {
		got, err := AppendJSON([]byte("x"), []byte(tt.in))
		if err != nil {
			t.Errorf("AppendJSON(%q): %v", tt.in, err)
			continue
		}
		if string(got) != "x"+tt.want {
			t.Errorf("AppendJSON(%q) = %s, want %s", tt.in, got[1:], tt.want)
		}
	}
}

func TestAppendJSONErrors(t *testing.T) {
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	deepObj := func(n int) string { return strings.Repeat(`{"a":`, n) + "1" + strings.Repeat("}", n) }
	tests := []struct {
		name, in string
		utf8     bool // the error wraps ErrInvalidUTF8
	}{
		{"empty", ``, false},
		{"space", `  `, false},
		{"overflow", `1e400`, false},
		{"negative overflow", `[-1e400]`, false},
		{"huge mantissa", "1" + strings.Repeat("0", 400) + ".0", false},
		{"lone high surrogate", `"\ud800"`, false},
		{"lone high surrogate then char", `"\ud83dx"`, false},
		{"lone low surrogate", `"\ude00"`, false},
		{"two high surrogates", `"\ud83d\ud83d"`, false},
		{"duplicate key", `{"a": 1, "b": 2, "a": 3}`, false},
		{"duplicate key escaped", `{"a": 1, "\u0061": 2}`, false},
		{"duplicate key in big object", `{"k1":1,"k2":2,"k3":3,"k4":4,"k5":5,"k6":6,"k7":7,"k8":8,"k9":9,"k10":10,"k3":0}`, false},
		{"duplicate nested key", `{"a": {"x": 1, "x": 2}}`, false},
		{"deep arrays", deep(1001), false},
		{"deep objects", deepObj(1001), false},
		{"invalid UTF-8", "\"a\xffb\"", true},
		{"invalid UTF-8 key", "{\"\xc3\": 1}", true},
		{"encoded surrogate", "\"\xed\xa0\x80\"", true},
		{"trailing data", `{} {}`, false},
		{"trailing comma", `[1,]`, false},
		{"trailing comma object", `{"a":1,}`, false},
		{"leading zero", `01`, false},
		{"plus sign", `+1`, false},
		{"bare point", `1.`, false},
		{"point first", `.5`, false},
		{"bare exponent", `1e`, false},
		{"minus only", `-`, false},
		{"NaN", `NaN`, false},
		{"Infinity", `Infinity`, false},
		{"single quotes", `'a'`, false},
		{"control char", "\"a\tb\"", false},
		{"unquoted key", `{a: 1}`, false},
		{"missing colon", `{"a" 1}`, false},
		{"bad literal", `tru`, false},
		{"bad escape", `"\a"`, false},
		{"unterminated", `{"a": [1, 2`, false},
	}
	for _, tt := range tests {
		got, err := AppendJSON([]byte("x"), []byte(tt.in))
		if err == nil {
			t.Errorf("%s: AppendJSON(%.40q) = %s, want error", tt.name, tt.in, got)
			continue
		}
		if string(got) != "x" {
			t.Errorf("%s: AppendJSON changed dst to %q on error", tt.name, got)
		}
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("%s: error %v (%T) is not a *SyntaxError", tt.name, err, err)
		}
		if errors.Is(err, ErrInvalidUTF8) != tt.utf8 {
			t.Errorf("%s: errors.Is(%v, ErrInvalidUTF8) = %v, want %v", tt.name, err, !tt.utf8, tt.utf8)
		}
	}
}

func TestAppendJSONDepthLimit(t *testing.T) {
	in := strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth)
	got, err := AppendJSON(nil, []byte(in))
	if err != nil || string(got) != in {
		t.Errorf("AppendJSON of %d nested arrays: %v", maxDepth, err)
	}
}

func TestSyntaxErrorOffset(t *testing.T) {
	_, err := AppendJSON(nil, []byte(`{"a": [1, 2, x]}`))
	var se *SyntaxError
	if !errors.As(err, &se) || se.Offset != 13 || !strings.Contains(err.Error(), "offset 13") {
		t.Errorf("error %v, want a *SyntaxError at offset 13", err)
	}
}
