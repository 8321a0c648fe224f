package comply

import "testing"

// TestPlainASCII puts every byte value at every place of a 16-byte
// string: the word-at-a-time scan stops exactly at the special ones.
func TestPlainASCII(t *testing.T) {
	for c := 0; c < 256; c++ {
		for pos := 0; pos < 16; pos++ {
			b := make([]byte, 16)
			for i := range b {
				b[i] = 'a'
			}
			b[pos] = byte(c)
			want := 16
			if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
				want = pos
			}
			if got := plainASCII(string(b)); got != want {
				t.Fatalf("c=%#x pos=%d: %d want %d", c, pos, got, want)
			}
		}
	}
}
