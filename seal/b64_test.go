package seal

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"testing"
)

func TestEncodeB64(t *testing.T) {
	data := make([]byte, 600)
	rand.Read(data)
	for i := range 256 {
		data[300+i] = byte(i) // every byte value
	}
	for n := 0; n <= len(data); n++ {
		for _, src := range [][]byte{data[:n], data[len(data)-n:], bytes.Repeat([]byte{0xff}, n), make([]byte, n)} {
			want := base64.URLEncoding.EncodeToString(src)
			got := make([]byte, len(want))
			encodeB64(got, src)
			if string(got) != want {
				t.Fatalf("n=%d:\n got %s\nwant %s", n, got, want)
			}
		}
	}
}

func TestEncodeB64Twice(t *testing.T) {
	data := make([]byte, 600)
	rand.Read(data)
	for i := range 256 {
		data[300+i] = byte(i)
	}
	for n := 0; n <= len(data); n++ {
		for _, src := range [][]byte{data[:n], data[len(data)-n:], bytes.Repeat([]byte{0xff}, n), make([]byte, n)} {
			want := base64.URLEncoding.EncodeToString([]byte(base64.URLEncoding.EncodeToString(src)))
			got := make([]byte, doubleLen(n))
			encodeB64Twice(got, src)
			if string(got) != want {
				t.Fatalf("n=%d:\n got %s\nwant %s", n, got, want)
			}
		}
	}
}

func FuzzEncodeB64(f *testing.F) {
	f.Add([]byte("gAAAAABrBx0htf1kaDd"))
	f.Fuzz(func(t *testing.T, src []byte) {
		want := base64.URLEncoding.EncodeToString(src)
		got := make([]byte, len(want))
		encodeB64(got, src)
		if string(got) != want {
			t.Fatalf("got %s\nwant %s", got, want)
		}
		want = base64.URLEncoding.EncodeToString([]byte(want))
		got = make([]byte, doubleLen(len(src)))
		encodeB64Twice(got, src)
		if string(got) != want {
			t.Fatalf("twice: got %s\nwant %s", got, want)
		}
	})
}
