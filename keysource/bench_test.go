package keysource_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/keysource"
	"github.com/complyhq/comply/keysource/keysourcetest"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store/memstore"
)

// BenchmarkLogWithKeySource logs 2,000-byte interactions with content
// encrypted under a local keyring and under keyrings loaded from Secrets
// Manager and KMS (local wire-protocol servers): after start-up the key
// source costs nothing per entry (one atomic load).
func BenchmarkLogWithKeySource(b *testing.B) {
	aws := keysourcetest.NewAWS(b)
	aws.Env(b)
	k, err := seal.GenerateKey()
	if err != nil {
		b.Fatal(err)
	}
	aws.SetSecret("comply", "v1:"+k.Encode())
	kmsFile := filepath.Join(b.TempDir(), "keys.kms")
	if err := os.WriteFile(kmsFile, []byte("v1:"+aws.Wrap([]byte(k.Encode()))+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	text := strings.Repeat("x", 2000)
	for _, bc := range []struct{ name, spec string }{{"local", ""}, {"aws-sm", "aws-sm:comply"}, {"kms", "kms:" + kmsFile}} {
		b.Run(bc.name, func(b *testing.B) {
			opts := &comply.Options{StoreContent: true}
			if bc.spec == "" {
				opts.Keyring = seal.NewKeyring(k)
			} else {
				src, err := keysource.Parse(bc.spec)
				if err != nil {
					b.Fatal(err)
				}
				r, err := keysource.NewRefresher(b.Context(), src, nil)
				if err != nil {
					b.Fatal(err)
				}
				opts.Keys = r
			}
			l, err := comply.New(memstore.New(0), opts)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			in := comply.Interaction{Input: text, Output: text}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Log(b.Context(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
