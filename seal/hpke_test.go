package seal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func mustIdentity(t testing.TB, pq bool) *Identity {
	t.Helper()
	i, err := GenerateIdentity(pq)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

func TestSealRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		pq   bool
		kem  uint16
		pt   string
	}{
		{"x25519", false, KEMX25519, "Tell me about patient records"},
		{"x25519 empty", false, KEMX25519, ""},
		{"mlkem768x25519", true, KEMMLKEM768X25519, strings.Repeat("é", 1000)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := mustIdentity(t, tt.pq)
			pub := id.SealingKey()
			if pub.KEM() != tt.kem || !strings.HasPrefix(pub.ID(), "s-") || !ValidKeyID(pub.ID()) {
				t.Fatalf("KEM %04x id %q", pub.KEM(), pub.ID())
			}
			s, err := pub.Seal([]byte(tt.pt))
			if err != nil {
				t.Fatal(err)
			}
			if !IsSealed(s) || !strings.HasPrefix(s, SealedPrefix+pub.ID()+".") {
				t.Fatalf("stored form %.40q", s)
			}
			if kid, ok := SealedKeyID(s); !ok || kid != pub.ID() {
				t.Fatalf("SealedKeyID = %q, %v", kid, ok)
			}
			got, err := id.Open(s)
			if err != nil || string(got) != tt.pt {
				t.Fatalf("Open = %q, %v", got, err)
			}
			// Fernet never takes it for its own.
			if _, err := NewKeyring(mustGenerate(t)).Decrypt(s); !errors.Is(err, ErrMalformed) {
				t.Fatalf("Fernet Decrypt of sealed content: %v", err)
			}
			// Key files round trip.
			name := filepath.Join(t.TempDir(), "audit")
			if err := WriteSealingFiles(name, id); err != nil {
				t.Fatal(err)
			}
			if err := WriteSealingFiles(name, id); !errors.Is(err, os.ErrExist) {
				t.Fatalf("overwrite: %v", err)
			}
			lpub, err := LoadSealingKey(name + ".pub")
			if err != nil || lpub.ID() != pub.ID() {
				t.Fatalf("LoadSealingKey = %v, %v", lpub, err)
			}
			lid, err := LoadIdentity(name + ".key")
			if err != nil {
				t.Fatal(err)
			}
			s2, _ := lpub.Seal([]byte(tt.pt))
			if got, err := lid.Open(s2); err != nil || string(got) != tt.pt {
				t.Fatalf("loaded identity Open = %q, %v", got, err)
			}
			for _, f := range []string{name + ".pub", name + ".key"} {
				if fi, _ := os.Stat(f); fi.Mode().Perm() != 0o600 {
					t.Fatalf("%s mode %v", f, fi.Mode())
				}
			}
		})
	}
}

func TestSealFailures(t *testing.T) {
	id, other := mustIdentity(t, false), mustIdentity(t, false)
	s, err := id.SealingKey().Seal([]byte("secret text"))
	if err != nil {
		t.Fatal(err)
	}
	// Flip a byte in the data part.
	b := []byte(s)
	i := len(b) - 5
	b[i] = map[bool]byte{true: 'A', false: 'B'}[b[i] != 'A']
	tampered := string(b)
	kid, _ := SealedKeyID(s)
	otherID := strings.Replace(s, kid, other.ID(), 1)
	tests := []struct {
		name   string
		by     *Identity
		stored string
		want   error
	}{
		{"wrong identity", other, s, ErrWrongIdentity},
		{"tampered", id, tampered, ErrWrongKey},
		{"relabelled", other, otherID, ErrWrongKey},
		{"truncated", id, s[:len(s)-8], ErrWrongKey},
		{"fernet form", id, "Z0FBQUFBQm5vdCBhIHRva2Vu", ErrMalformed},
		{"no data", id, SealedPrefix + kid + ".", ErrMalformed},
		{"bad id", id, SealedPrefix + "a/b.AAAA", ErrMalformed},
		{"bad base64", id, SealedPrefix + kid + ".!!!!", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.by.Open(tt.stored)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if strings.Contains(err.Error(), "secret text") {
				t.Fatalf("error reveals plaintext")
			}
			enc, _ := tt.by.Encode()
			if strings.Contains(err.Error(), enc[len(privateKeyPrefix)+5:]) {
				t.Fatalf("error reveals the private key")
			}
		})
	}
	enc, _ := id.Encode()
	for _, v := range []string{id.String(), strings.TrimSpace(sprint(id))} {
		if strings.Contains(v, enc[len(privateKeyPrefix)+5:]) || !strings.Contains(v, "REDACTED") {
			t.Fatalf("formatting reveals the identity: %s", v)
		}
	}
	if _, err := ParseIdentity(id.SealingKey().Encode()); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("a public key taken as identity: %v", err)
	}
	if _, err := ParseSealingKey(enc); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("a private key taken as public: %v", err)
	}
}

func FuzzOpenSealed(f *testing.F) {
	id := mustIdentity(f, false)
	s, _ := id.SealingKey().Seal([]byte("seed"))
	f.Add(s)
	f.Add(SealedPrefix + id.ID() + ".")
	f.Add("hpke1..")
	f.Add("Z0FBQUFB")
	ss, _ := id.SealingKey().WithSessions(0).Seal([]byte("seed"))
	f.Add(ss)
	f.Add(SessionSealedPrefix + id.ID() + "..")
	f.Fuzz(func(t *testing.T, stored string) {
		pt, err := id.Open(stored)
		if err == nil {
			// Only genuine sealings open; the fuzzer cannot forge one, but
			// it may replay the seed.
			if string(pt) != "seed" {
				t.Fatalf("opened forged content %q", pt)
			}
			return
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWrongIdentity) && !errors.Is(err, ErrWrongKey) {
			t.Fatalf("untyped error %v", err)
		}
		SealedKeyID(stored)
		ParseSealingKey(stored)
		ParseIdentity(stored)
	})
}

func sprint(v any) string { return fmt.Sprintf("%v %+v %#v %s", v, v, v, v) }

func TestSealSessions(t *testing.T) {
	id, other := mustIdentity(t, false), mustIdentity(t, false)
	pk := id.SealingKey().WithSessions(time.Hour)
	a, err := pk.Seal([]byte("first"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pk.Seal([]byte("second"))
	if !IsSealed(a) || !strings.HasPrefix(a, SessionSealedPrefix+id.ID()+".") {
		t.Fatalf("stored form %.40q", a)
	}
	if strings.Split(a, ".")[2] != strings.Split(b, ".")[2] {
		t.Fatalf("two seals within a session used two encapsulations")
	}
	if kid, ok := SealedKeyID(a); !ok || kid != id.ID() {
		t.Fatalf("SealedKeyID = %q, %v", kid, ok)
	}
	short := id.SealingKey().WithSessions(time.Nanosecond)
	c, _ := short.Seal([]byte("x"))
	time.Sleep(time.Millisecond)
	d, _ := short.Seal([]byte("y"))
	if strings.Split(c, ".")[2] == strings.Split(d, ".")[2] {
		t.Fatalf("an expired session was reused")
	}
	flip := func(s string, i int) string {
		bs := []byte(s)
		bs[i] = map[bool]byte{true: 'A', false: 'B'}[bs[i] != 'A']
		return string(bs)
	}
	encAt := len(SessionSealedPrefix) + len(id.ID()) + 3
	tests := []struct {
		name   string
		by     *Identity
		stored string
		want   string
		err    error
	}{
		{"first", id, a, "first", nil},
		{"second", id, b, "second", nil},
		{"after expiry", id, d, "y", nil},
		{"wrong identity", other, a, "", ErrWrongIdentity},
		{"tampered data", id, flip(a, len(a)-3), "", ErrWrongKey},
		{"tampered enc", id, flip(a, encAt), "", ErrWrongKey},
		{"no data", id, SessionSealedPrefix + id.ID() + ".AAAA.", "", ErrMalformed},
		{"two parts", id, SessionSealedPrefix + id.ID() + ".AAAA", "", ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.by.Open(tt.stored)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("Open = %q, %v", got, err)
			}
		})
	}
}
