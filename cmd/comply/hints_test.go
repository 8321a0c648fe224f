package main

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/memstore"
	"github.com/complyhq/comply/store/s3store"
)

// TestHints checks that report prints each library error with the hint
// libraryHints maps it to. The errors come from the library where that is
// cheap, and are built from its sentinels and types otherwise.
func TestHints(t *testing.T) {
	dir := t.TempDir()
	secret := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		k, err := seal.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(k.Encode()+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	signer, _, err := ledger.WriteKeyFiles(filepath.Join(dir, "prod"), "prod")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(signer, 0o640); err != nil {
		t.Fatal(err)
	}
	key, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := seal.NewKeyring(other).Encrypt([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	raw := make([]byte, 32)
	raw[0] = 1
	shared1 := base64.URLEncoding.EncodeToString(raw)
	raw[31] = 1 // same signing half, another encryption half
	shared2 := base64.URLEncoding.EncodeToString(raw)

	lock := filepath.Join(dir, "store")
	held, err := filestore.Open(t.Context(), lock, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()

	call := func(f func() error) error { return f() }
	second := func(_ any, err error) error { return err }

	tests := []struct {
		name string
		err  error
		hint string // "" for none
	}{
		{"shared signing half", second(seal.ParseKeyring(shared1 + "," + shared2)), "generate every key independently with 'comply keygen'"},
		{"invalid key", second(seal.ParseKey("not-a-key")), "a key is the 44-character string printed by 'comply keygen'"},
		{"no key", second(seal.ParseKeyring("# nothing")), "set AUDIT_ENCRYPTION_KEY to the key printed by 'comply keygen'"},
		{"no encryption", second(comply.New(memstore.New(0), &comply.Options{StoreContent: true})), "set AUDIT_ENCRYPTION_KEY to a key printed by 'comply keygen', or pass --key-file FILE"},
		{"wrong key", second(seal.NewKeyring(key).Decrypt(sealed)), "if the key was rotated, list the old key after the new one in AUDIT_ENCRYPTION_KEY"},
		{"malformed content", second(seal.NewKeyring(key).Decrypt("not base64!")), "encrypted content is the base64url-encoded Fernet token"},
		{"key file mode", second(seal.LoadKeyring(secret("open.key", 0o644))), "chmod 600 " + filepath.Join(dir, "open.key")},
		{"signer key file mode", second(ledger.LoadSigner(signer)), "chmod 600 " + signer},
		{"no signer", second(ledger.Open(t.Context(), memstore.New(0), &ledger.Options{})), "'comply keygen --signing --out NAME' writes one"},
		{"invalid signer key", second(ledger.NewSigner("PRIVATE+KEY+x")), "'comply keygen --signing --out NAME' writes NAME.signer"},
		{"key pair exists", call(func() error { _, _, err := ledger.WriteKeyFiles(filepath.Join(dir, "prod"), "prod"); return err }), "choose another --out, or move the old key pair away first"},
		{"not checkpointed", fmt.Errorf("ledger: prove: x: %w", ledger.ErrNotCheckpointed), "a running writer signs it within its checkpoint interval"},
		{"tampered", fmt.Errorf("ledger: %w: leaves", ledger.ErrTampered), "run 'comply verify' to see what changed"},
		{"entry too large", call(func() error {
			l, err := comply.New(memstore.New(0), &comply.Options{MaxEntrySize: 10})
			if err != nil {
				return err
			}
			defer l.Close()
			_, err = l.Log(t.Context(), comply.Interaction{Input: "in"})
			return err
		}), "log without --store-content to store hashes only"},
		{"store locked", second(filestore.Open(t.Context(), lock, nil)), "only one process may write to a store at a time"},
		{"s3 no region", &s3OpenError{fmt.Errorf("open s3://b/p: %w", s3store.ErrNoRegion)}, "add ?region=... to the store URL, or set AWS_REGION"},
		{"s3 access denied", &s3OpenError{fmt.Errorf("open s3://b/p: bucket b: %w: %w", s3store.ErrAccessDenied, errors.New("403"))}, "check the AWS credentials and their policy"},
		{"s3 credentials in the URL", second(openS3Store(t.Context(), "s3://id:secret@bucket/p", true)), "use the standard AWS credential chain"},
		{"s3 object lock", &s3OpenError{fmt.Errorf("open s3://b/p: %w", &s3store.ObjectLockError{Bucket: "b", Mode: s3store.Governance})}, "create the bucket with Object Lock enabled"},
		{"s3 other", second(openS3Store(t.Context(), "s3://bucket/p?secret=x", true)), "write the store as s3://BUCKET/PREFIX?region=REGION"},
		{"attached hint wins", withHint(fmt.Errorf("wrapped: %w", seal.ErrNoKey), "attached"), "attached"},
		{"no hint", errors.New("plain"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error to report")
			}
			var stderr bytes.Buffer
			c := &cli{stderr: &stderr}
			if code := c.report(tt.err); code != exitError {
				t.Errorf("exit status %d, want %d", code, exitError)
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if !strings.HasPrefix(lines[0], "comply: error: ") || strings.Contains(lines[0], "hint") {
				t.Errorf("first line %q: want the error without a hint", lines[0])
			}
			var hs []string
			for _, l := range lines[1:] {
				h, ok := strings.CutPrefix(l, "comply: hint: ")
				if !ok {
					t.Errorf("line %q is not a hint", l)
				}
				hs = append(hs, h)
			}
			switch {
			case tt.hint == "" && len(hs) > 0:
				t.Errorf("hints %q, want none", hs)
			case tt.hint != "" && (len(hs) != 1 || !strings.HasPrefix(hs[0], tt.hint)):
				t.Errorf("hints %q, want one starting with %q\n%s", hs, tt.hint, stderr.String())
			}
		})
	}
}
