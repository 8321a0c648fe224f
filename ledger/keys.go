package ledger

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/complyhq/comply/internal/keyfile"

	"golang.org/x/mod/sumdb/note"
)

// Keys are the note key formats of golang.org/x/mod/sumdb/note: a signer
// key "PRIVATE+KEY+<name>+<hash>+<base64>" (secret) and a verifier key
// "<name>+<hash>+<base64>" (public), both Ed25519.

// GenerateKey returns a new signer key and its verifier key, named name
// (no spaces or '+').
func GenerateKey(name string) (signer, verifier string, err error) {
	if name == "" || strings.ContainsAny(name, "+ \t\r\n") {
		return "", "", fmt.Errorf("ledger: key name %q: want a non-empty name without spaces or '+'", name)
	}
	return note.GenerateKey(rand.Reader, name)
}

// A Signer is a note.Signer that also knows its verifier, so that a writer
// can check the checkpoints it wrote before.
type Signer struct {
	note.Signer
	verifier note.Verifier
	vkey     string
}

// Verifier returns the verifier of the signer's key.
func (s *Signer) Verifier() note.Verifier { return s.verifier }

// VerifierKey returns the encoded verifier key of the signer's key.
func (s *Signer) VerifierKey() string { return s.vkey }

// NewSigner parses a signer key. Errors never quote the key.
func NewSigner(skey string) (*Signer, error) {
	skey = strings.TrimSpace(skey)
	ns, err := note.NewSigner(skey)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w: not a signer key (the contents of a .signer file): %w", ErrInvalidKey, err)
	}
	// The key's last field is base64 of the algorithm byte and the Ed25519
	// seed; derive the public key from it.
	parts := strings.SplitN(skey, "+", 5) // PRIVATE, KEY, name, hash, key
	raw, err := base64.StdEncoding.DecodeString(parts[len(parts)-1])
	if err != nil || len(raw) != 1+ed25519.SeedSize || raw[0] != 1 {
		return nil, fmt.Errorf("ledger: %w: not an Ed25519 signer key", ErrInvalidKey)
	}
	pub := ed25519.NewKeyFromSeed(raw[1:]).Public().(ed25519.PublicKey)
	clear(raw)
	vkey, err := note.NewEd25519VerifierKey(ns.Name(), pub)
	if err != nil {
		return nil, err
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, err
	}
	return &Signer{Signer: ns, verifier: v, vkey: vkey}, nil
}

// NewVerifier parses a verifier key.
func NewVerifier(vkey string) (note.Verifier, error) {
	v, err := note.NewVerifier(strings.TrimSpace(vkey))
	if err != nil {
		return nil, fmt.Errorf("ledger: %w: not a verifier key (the contents of a .verifier file): %w", ErrInvalidKey, err)
	}
	return v, nil
}

const maxKeyFile = 4096

// LoadSigner reads a signer key from a file, which must not be readable by
// users other than its owner (else the error is a *KeyFileModeError).
func LoadSigner(path string) (*Signer, error) {
	b, err := readKeyFile(path, true)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	s, err := NewSigner(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// LoadVerifier reads a verifier key from a file.
func LoadVerifier(path string) (note.Verifier, error) {
	b, err := readKeyFile(path, false)
	if err != nil {
		return nil, err
	}
	v, err := NewVerifier(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

func readKeyFile(path string, secret bool) ([]byte, error) {
	b, err := keyfile.Read(path, secret, maxKeyFile)
	var me *keyfile.ModeError
	if errors.As(err, &me) {
		return nil, &KeyFileModeError{Path: me.Path, Mode: me.Mode}
	}
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	return b, nil
}

// WriteKeyFiles writes a new key pair named name to base+".signer" (mode
// 600) and base+".verifier" (mode 644). It never overwrites a file: if one
// exists, the error wraps ErrKeyExists.
func WriteKeyFiles(base, name string) (signerPath, verifierPath string, err error) {
	skey, vkey, err := GenerateKey(name)
	if err != nil {
		return "", "", err
	}
	signerPath, verifierPath = base+".signer", base+".verifier"
	for _, p := range []string{signerPath, verifierPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("ledger: %s: %w", p, ErrKeyExists)
		}
	}
	if err := writeNew(signerPath, skey+"\n", 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(verifierPath, vkey+"\n", 0o644); err != nil {
		os.Remove(signerPath)
		return "", "", err
	}
	return signerPath, verifierPath, nil
}

func writeNew(path, data string, perm os.FileMode) error {
	if err := keyfile.WriteNew(path, []byte(data), perm); err != nil {
		return fmt.Errorf("ledger: writing key file: %w", err)
	}
	return nil
}
