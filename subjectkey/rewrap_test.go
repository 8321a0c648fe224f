package subjectkey_test

import (
	"strings"
	"testing"

	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/subjectkey"
)

// TestRewrap re-wraps the name key and the data keys under a new keyring
// key: the old key can then be dropped, content sealed before still opens,
// a rerun changes nothing, and a keyring without the old key fails
// cleanly before it rewrites anything.
func TestRewrap(t *testing.T) {
	k1, _ := seal.GenerateKey()
	k2, _ := seal.GenerateKey()
	v1, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v1", Key: k1})
	both, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v2", Key: k2}, seal.NamedKey{ID: "v1", Key: k1})
	only2, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v2", Key: k2})
	for _, su := range stores[:2] { // memory and file; S3 is covered by TestVault's Destroyer rule
		t.Run(su.name, func(t *testing.T) {
			st, _ := su.open(t)
			ctx := t.Context()
			v, err := subjectkey.New(st, subjectkey.Options{Subject: "user_id", Keyring: v1})
			if err != nil {
				t.Fatal(err)
			}
			c, ver, err := v.Seal(ctx, "u-1", []byte("alice's question"))
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := v.Seal(ctx, "u-2", []byte("bob's question")); err != nil {
				t.Fatal(err)
			}
			if _, _, err := subjectkey.Rewrap(ctx, st, only2, "v2"); err == nil || strings.Contains(err.Error(), k1.Encode()) {
				t.Fatalf("rewrap without the old key: %v, want an error without key material", err)
			}
			done, already, err := subjectkey.Rewrap(ctx, st, both, "v2")
			if err != nil || done != 3 || already != 0 {
				t.Fatalf("Rewrap = %d, %d, %v; want the name key and two data keys", done, already, err)
			}
			names, _ := st.(store.Sidecar).ListBlobs(ctx, "subjects/")
			for _, n := range names {
				b, _ := st.(store.Sidecar).ReadBlob(ctx, n)
				if !strings.Contains(string(b), "wrapped-by v2\n") {
					t.Errorf("%s is not wrapped by v2", n)
				}
			}
			fresh, err := subjectkey.New(st, subjectkey.Options{Subject: "user_id", Keyring: only2})
			if err != nil {
				t.Fatal(err)
			}
			if pt, err := fresh.Open(ctx, "u-1", ver, c); err != nil || string(pt) != "alice's question" {
				t.Fatalf("after the rewrap, with v2 alone: %q, %v", pt, err)
			}
			if done, already, err := subjectkey.Rewrap(ctx, st, both, "v2"); err != nil || done != 0 || already != 3 {
				t.Fatalf("rerun = %d, %d, %v; want nothing to do", done, already, err)
			}
		})
	}
}
