package line

import (
	"encoding/binary"
	"math/bits"
	"strconv"
	"testing"
)

func TestAppendString(t *testing.T) {
	// The expectations are Python 3's json.dumps() of the same strings.
	tests := []struct {
		in, want string
	}{
		{"", `""`},
		{"plain ascii 123 ~", `"plain ascii 123 ~"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\n\r\t\b\f", `"\n\r\t\b\f"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"\x0b", `"\u000b"`},
		{"\x7f", `"\u007f"`},
		{"</script>&", `"</script>&"`},
		{"/", `"/"`},
		{"é", `"\u00e9"`},
		{"你好", `"\u4f60\u597d"`},
		{"\U0001F600", `"\ud83d\ude00"`},
		{"\U0010FFFF", `"\udbff\udfff"`},
		{"\uffff", `"\uffff"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"tab\there", `"tab\there"`},
		{"Ünïcødé alert ⚠", `"\u00dcn\u00efc\u00f8d\u00e9 alert \u26a0"`},
		{"naïve café ☕ 𝄞", `"na\u00efve caf\u00e9 \u2615 \ud834\udd1e"`},
	}
	for _, tt := range tests {
		if got := string(AppendString([]byte("x"), tt.in)); got != "x"+tt.want {
			t.Errorf("AppendString(%q) = %s, want %s", tt.in, got[1:], tt.want)
		}
	}
}

func TestAppendStringInvalidUTF8(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"a\xffb", `"a\ufffdb"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`}, // an encoded surrogate
		{"\xe4\xbd", `"\ufffd\ufffd"`},
	} {
		got, ok := appendString(nil, tt.in)
		if ok || string(got) != tt.want {
			t.Errorf("appendString(%q) = %s, %v; want %s, false", tt.in, got, ok, tt.want)
		}
	}
}

func TestScanStringErrors(t *testing.T) {
	for _, in := range []string{
		`"abc`, `"\`, `"\x"`, `"\u12"`, `"\u12g4"`, `"a` + "\n" + `"`, `"` + "\x00" + `"`,
		`"\ud800"`, `"\ud800\u0041"`, `"\udc00"`, `"\ud800\ud800"`, `"\ud83d`, "\"\xff\"",
		"\"\xed\xa0\x80\"", "\"\xc0\xaf\"",
	} {
		if _, _, err := scanString([]byte(in), 0); err == nil {
			t.Errorf("scanString(%s) succeeded, want error", strconv.Quote(in))
		}
	}
}

func TestNonPlainMask(t *testing.T) {
	// Every byte value at every position, among plain and non-plain
	// neighbours, against the table: the mask is zero exactly when all
	// bytes are plain, and its lowest flag marks the first non-plain byte.
	for _, fill := range []byte{'a', ' ', '~', '"', 0x7f, 0xff, 0x00, 0x1f, 0x80} {
		for pos := range 8 {
			for c := range 256 {
				var w [8]byte
				for i := range w {
					w[i] = 'a'
					if i > pos {
						w[i] = fill
					}
				}
				w[pos] = byte(c)
				want := 8
				for i, x := range w {
					if !plainByte[x] {
						want = i
						break
					}
				}
				m := nonPlainMask(binary.LittleEndian.Uint64(w[:]))
				got := 8
				if m != 0 {
					got = bits.TrailingZeros64(m) / 8
				}
				if got != want {
					t.Fatalf("nonPlainMask(%q) = %#x: first non-plain byte %d, want %d", w, m, got, want)
				}
			}
		}
	}
	for _, s := range []string{"", "abc", "0123456789abcdef0123456789", "0123456789abcdef\"", "0123456789\\",
		"01234567890123\x01", "0123456789012345\x7f", "é", "0123456789abcdefé"} {
		want := 0
		for want < len(s) && plainByte[s[want]] {
			want++
		}
		if got := plainEnd([]byte(s), 0); got != want {
			t.Errorf("plainEnd(%q) = %d, want %d", s, got, want)
		}
	}
}
