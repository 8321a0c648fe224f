package seal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestKeyIDIsAFingerprint(t *testing.T) {
	k := mustGenerate(t)
	m := k.mat()
	h := sha256.Sum256(append(append([]byte("comply key id\x00"), m.signing[:]...), m.encryption[:]...))
	want := "k-" + hex.EncodeToString(h[:4])
	if got := KeyID(k); got != want {
		t.Fatalf("KeyID = %q, want %q", got, want)
	}
	if KeyID(Key{}) != "" {
		t.Fatalf("KeyID of the zero Key is not empty")
	}
	if KeyID(mustGenerate(t)) == want {
		t.Fatalf("two keys share an id")
	}
	checkNoSecrets(t, want, k)
}

func TestParseKeyringIDs(t *testing.T) {
	k1, k2, k3 := mustGenerate(t), mustGenerate(t), mustGenerate(t)
	e1, e2, e3 := k1.Encode(), k2.Encode(), k3.Encode()
	tests := []struct {
		name string
		text string
		ids  []string
		err  error
	}{
		{"bare", e1, []string{KeyID(k1)}, nil},
		{"named", "v2:" + e2 + "\nv1:" + e1, []string{"v2", "v1"}, nil},
		{"mixed", "v3:" + e3 + "," + e1, []string{"v3", KeyID(k1)}, nil},
		{"repeat kept once", "v1:" + e1 + " v1:" + e1, []string{"v1"}, nil},
		{"bare repeat kept once", e1 + "," + e1 + "," + e2, []string{KeyID(k1), KeyID(k2)}, nil},
		{"duplicate id", "v1:" + e1 + "\nv1:" + e2, nil, ErrInvalidKey},
		{"same key two ids", "v1:" + e1 + "\nv2:" + e1, nil, ErrInvalidKey},
		{"bad id", "v 1:" + e1, nil, ErrInvalidKey},
		{"bad id chars", "v/1:" + e1, nil, ErrInvalidKey},
		{"empty id", ":" + e1, nil, ErrInvalidKey},
		{"long id", strings.Repeat("a", 65) + ":" + e1, nil, ErrInvalidKey},
		{"bad key", "v1:" + e1[:40], nil, ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseKeyring(tt.text)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				for _, k := range []Key{k1, k2, k3} {
					checkNoSecrets(t, err.Error(), k)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.IDs(); !slices.Equal(got, tt.ids) {
				t.Fatalf("IDs = %v, want %v", got, tt.ids)
			}
			if r.PrimaryID() != tt.ids[0] {
				t.Fatalf("PrimaryID = %q", r.PrimaryID())
			}
		})
	}
}

func TestNamedKeyringEncryptDecrypt(t *testing.T) {
	k1, k2 := mustGenerate(t), mustGenerate(t)
	r, err := NewNamedKeyring(NamedKey{ID: "v2", Key: k2}, NamedKey{ID: "v1", Key: k1})
	if err != nil {
		t.Fatal(err)
	}
	old, err := r.EncryptWith("v1", []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	cur, id, err := r.EncryptID([]byte("new"))
	if err != nil || id != "v2" {
		t.Fatalf("EncryptID: id %q, %v", id, err)
	}
	tests := []struct {
		name, stored, id, want string
	}{
		{"old", old, "v1", "old"},
		{"primary", cur, "v2", "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pt, id, err := r.DecryptID(tt.stored)
			if err != nil || id != tt.id || string(pt) != tt.want {
				t.Fatalf("DecryptID = %q, %q, %v", pt, id, err)
			}
			pt, err = r.DecryptWith(tt.id, tt.stored)
			if err != nil || string(pt) != tt.want {
				t.Fatalf("DecryptWith = %q, %v", pt, err)
			}
			other := map[string]string{"v1": "v2", "v2": "v1"}[tt.id]
			if _, err := r.DecryptWith(other, tt.stored); !errors.Is(err, ErrWrongKey) {
				t.Fatalf("DecryptWith the other id: %v, want ErrWrongKey", err)
			}
		})
	}
	if _, err := r.DecryptWith("v9", cur); !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("unknown id: %v", err)
	}
	if _, err := r.EncryptWith("v9", nil); !errors.Is(err, ErrUnknownKeyID) {
		t.Fatalf("EncryptWith unknown id: %v", err)
	}
	if k, ok := r.Key("v1"); !ok || k.Encode() != k1.Encode() {
		t.Fatalf("Key(v1) is not k1")
	}
	if _, err := NewNamedKeyring(NamedKey{ID: "v1"}); !errors.Is(err, ErrNoKey) {
		t.Fatalf("zero key: %v", err)
	}
	legacy := NewKeyring(k2, k1)
	if got := legacy.IDs(); !slices.Equal(got, []string{KeyID(k2), KeyID(k1)}) {
		t.Fatalf("NewKeyring ids = %v", got)
	}
}
