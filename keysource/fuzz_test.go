package keysource

import (
	"errors"
	"strings"
	"testing"

	"github.com/complyhq/comply/seal"
)

// FuzzParseSecret: any secret text either yields a keyring with a
// primary or an error wrapping ErrSecret that does not quote the text.
func FuzzParseSecret(f *testing.F) {
	k, _ := seal.GenerateKey()
	f.Add(k.Encode())
	f.Add("v1:" + k.Encode())
	f.Add(`{"v1": "` + k.Encode() + `", "primary": "v1"}`)
	f.Add(`{"v1": 3}`)
	f.Add(`{`)
	f.Fuzz(func(t *testing.T, text string) {
		kr, err := parseSecret(text, "test")
		if err != nil {
			if !errors.Is(err, ErrSecret) {
				t.Fatalf("untyped error %v", err)
			}
			if len(strings.TrimSpace(text)) >= 12 && strings.Contains(err.Error(), strings.TrimSpace(text)) {
				t.Fatalf("error quotes the secret: %v", err)
			}
			return
		}
		if kr.Len() == 0 || kr.PrimaryID() == "" {
			t.Fatalf("a keyring without a primary")
		}
	})
}

// FuzzParseSpec: Parse never panics, and errors wrap ErrSpec.
func FuzzParseSpec(f *testing.F) {
	for _, s := range []string{"env:X", "file:/x", "aws-sm:id?region=r", "vault:a/b#c", "kms:/k", "x", "aws-sm:?%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		src, err := Parse(spec)
		if err != nil {
			if !errors.Is(err, ErrSpec) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		_ = src.String()
	})
}
