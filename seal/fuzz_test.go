package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// addVectorSeeds seeds f with the seed vectors, their bare tokens and a
// few damaged forms.
func addVectorSeeds(f *testing.F) []vector {
	_, vectors := seedVectors(f)
	for _, v := range vectors {
		f.Add(v.Ciphertext)
		f.Add(v.FernetToken)
		f.Add(v.Ciphertext[:len(v.Ciphertext)/2])
		f.Add(strings.TrimRight(v.FernetToken, "="))
	}
	f.Add("")
	f.Add("gAAAAA")
	f.Add("Z0FBQUFB")
	f.Add("====")
	f.Add("\n\r \t")
	return vectors
}

func FuzzDecrypt(f *testing.F) {
	vectors := addVectorSeeds(f)
	k := seedKey(f)
	other := mustGenerate(f)
	ring := NewKeyring(other, k)
	plaintexts := map[string]bool{}
	for _, v := range vectors {
		plaintexts[v.Plaintext] = true
	}
	f.Fuzz(func(t *testing.T, stored string) {
		got, err := ring.Decrypt(stored)
		if err == nil {
			// Only content encrypted under k decrypts, and the fuzzer
			// cannot forge a MAC: success means a vector in some
			// accepted encoding.
			if !plaintexts[string(got)] {
				t.Fatalf("decrypted unexpected plaintext %q", got)
			}
			return
		}
		if got != nil {
			t.Fatal("plaintext returned with an error")
		}
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrWrongKey) {
			t.Fatalf("error wraps neither ErrMalformed nor ErrWrongKey: %v", err)
		}
		msg := err.Error()
		checkNoSecrets(t, msg, k)
		checkNoSecrets(t, msg, other)
		if len(stored) >= 16 && strings.Contains(msg, stored[:16]) {
			t.Fatalf("error quotes the input: %v", err)
		}
	})
}

func FuzzParseKeyring(f *testing.F) {
	k := seedKey(f)
	f.Add(k.Encode())
	f.Add(k.Encode() + "," + k.Encode())
	f.Add("# comment\n" + k.Encode() + "  # trailing\n\n" + mustGenerate(f).Encode())
	f.Add(k.Encode()[:43])
	f.Add(strings.Replace(k.Encode(), "-", "+", -1))
	f.Add("")
	f.Add(",,\n#")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseKeyring(s)
		if err != nil {
			if r != nil {
				t.Fatal("keyring returned with an error")
			}
			if !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrNoKey) {
				t.Fatalf("error wraps neither ErrInvalidKey nor ErrNoKey: %v", err)
			}
			return
		}
		if r.Len() < 1 || r.Primary().IsZero() {
			t.Fatalf("parsed a keyring with %d keys", r.Len())
		}
		for _, key := range r.keys {
			again, err := ParseKey(key.Encode())
			if err != nil || again.Encode() != key.Encode() {
				t.Fatalf("key does not round-trip through Encode: %v", err)
			}
		}
		// Every parsed keyring encrypts and decrypts.
		stored, err := NewKeyring(r.keys[len(r.keys)-1]).Encrypt([]byte("fuzz"))
		if err != nil {
			t.Fatal(err)
		}
		if got, err := r.Decrypt(stored); err != nil || string(got) != "fuzz" {
			t.Fatalf("round trip through the last key: %q, %v", got, err)
		}
	})
}

func FuzzRoundTrip(f *testing.F) {
	_, vectors := seedVectors(f)
	for _, v := range vectors {
		f.Add([]byte(v.Plaintext))
	}
	f.Add([]byte{0xff, 0xfe, 0})
	ring := NewKeyring(mustGenerate(f))
	f.Fuzz(func(t *testing.T, plaintext []byte) {
		stored, err := ring.Encrypt(plaintext)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ring.Decrypt(stored)
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Fatalf("round trip: %v", err)
		}
		inner, err := base64.URLEncoding.DecodeString(stored)
		if err != nil {
			t.Fatal(err)
		}
		got, err = ring.Decrypt(string(inner))
		if err != nil || !bytes.Equal(got, plaintext) {
			t.Fatalf("bare token round trip: %v", err)
		}
	})
}
