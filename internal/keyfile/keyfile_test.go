package keyfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLooksLikeKey(t *testing.T) {
	for _, tc := range []struct {
		s    string
		want bool
	}{
		{"prod.signer", false},
		{"/etc/comply/keys/prod.signer", false},
		{"keys/a+b.verifier", false},
		{"../secrets/fernet.key", false},
		{"PRIVATE+KEY+prod+c05188a9+AUWD7aTyJ2Y01mnII9M3ThYNVqJGgC6JNfR1Ic1I2gBU", true},
		{"  PRIVATE+KEY+prod+c05188a9+AUWD7aTyJ2Y01mnII9M3ThYNVqJGgC6JNfR1Ic1I2gBU\n", true},
		{"prod+c05188a9+AcfIBRS4bUUxmnhRBWNVcrrA5dQ8mYn8e0uTyhp91U9b", true},
		{"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=", true},
		{"cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=,cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=", true},
		{"a secret\nwith lines", true},
	} {
		if got := LooksLikeKey(tc.s); got != tc.want {
			t.Errorf("LooksLikeKey(%q) = %v, want %v", tc.s, got, tc.want)
		}
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "k")
	os.WriteFile(secret, []byte("key"), 0o600)
	if b, err := Read(secret, true, 16); err != nil || string(b) != "key" {
		t.Fatalf("Read = %q, %v", b, err)
	}
	os.Chmod(secret, 0o644)
	var me *ModeError
	if _, err := Read(secret, true, 16); !errors.As(err, &me) || me.Mode != 0o644 {
		t.Fatalf("world-readable secret: %v", err)
	}
	if _, err := Read(secret, false, 16); err != nil {
		t.Fatalf("a public key file may be world-readable: %v", err)
	}
	if _, err := Read(secret, false, 2); err == nil || !strings.Contains(err.Error(), "larger than 2 bytes") {
		t.Fatalf("too large: %v", err)
	}
	if _, err := Read(dir, false, 16); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("a directory: %v", err)
	}
	const key = "PRIVATE+KEY+prod+c05188a9+AUWD7aTyJ2Y01mnII9M3ThYNVqJGgC6JNfR1Ic1I2gBU"
	_, err := Read(key, true, 16)
	if !errors.Is(err, ErrKeyAsPath) || strings.Contains(err.Error(), "AUWD7") {
		t.Fatalf("a key as the path: %v", err)
	}
}
