package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"
)

// EnvKey is the environment variable that holds the key, as in the
// reference library. [KeyringFromEnv] reads it.
const EnvKey = "AUDIT_ENCRYPTION_KEY"

// encodedKeyLen is the length of an encoded key: urlsafe base64, with
// padding, of 32 bytes.
const encodedKeyLen = 44

var (
	// ErrNoKey means no key was configured: the environment variable is
	// unset or empty, a keyring holds no key, or a zero Key was used.
	ErrNoKey = errors.New("no encryption key")

	// ErrInvalidKey means a key is not the 44-character encoding of 32
	// bytes, or a keyring holds two keys that cannot be told apart. A key
	// is what [Key.Encode] returns: urlsafe base64 of 32 bytes, as
	// [GenerateKey] or Python's Fernet.generate_key() makes.
	ErrInvalidKey = errors.New("invalid encryption key")
)

// A Key is a Fernet key: a 16-byte HMAC-SHA256 signing key and a 16-byte
// AES-128 encryption key. Create one with [GenerateKey] or [ParseKey]; the
// zero Key is "no key" and encrypts nothing.
//
// Formatting a Key with fmt or log/slog prints a redacted placeholder.
// Only [Key.Encode] reveals the secret. Keys are small values; copy them
// freely. Two Keys are == only if they are copies of the same generated or
// parsed Key; compare their encodings to compare contents.
type Key struct {
	// p points to a pointer to the material, not to the material itself.
	// When fmt prints a value whose methods it cannot call (a Key in an
	// unexported struct field), it shows pointers as addresses, except
	// that with some verbs it follows a pointer to a struct and prints the
	// struct. It never follows a pointer to a pointer.
	p **material
}

// mat returns k's material, nil for the zero Key.
func (k Key) mat() *material {
	if k.p == nil {
		return nil
	}
	return *k.p
}

// material is a key and the state derived from it, computed once.
type material struct {
	signing    [16]byte
	encryption [16]byte
	block      cipher.Block // AES-128 with encryption; safe for concurrent use
	ipad, opad [64]byte     // HMAC-SHA256 inner and outer key blocks
}

func newKey(raw []byte) Key {
	m := new(material)
	copy(m.signing[:], raw[:16])
	copy(m.encryption[:], raw[16:32])
	b, err := aes.NewCipher(m.encryption[:])
	if err != nil {
		// Unreachable: 16 bytes is a valid AES key size.
		panic("seal: aes.NewCipher: " + err.Error())
	}
	m.block = b
	for i := range m.ipad {
		m.ipad[i] = 0x36
		m.opad[i] = 0x5c
	}
	for i, c := range m.signing {
		m.ipad[i] ^= c
		m.opad[i] ^= c
	}
	return Key{&m}
}

// GenerateKey returns a new random key, from crypto/rand.
func GenerateKey() (Key, error) {
	var raw [32]byte
	if _, err := io.ReadFull(rand.Reader, raw[:]); err != nil {
		return Key{}, fmt.Errorf("seal: generating key: %w", err)
	}
	k := newKey(raw[:])
	clear(raw[:])
	return k, nil
}

// ParseKey parses the 44-character encoding of a key, as returned by
// [Key.Encode], printed by `comply keygen` or made by Python's
// Fernet.generate_key(). Surrounding whitespace is ignored. Like Python,
// it accepts nonzero unused bits in the last character; unlike Python, it
// rejects the standard base64 alphabet ('+' and '/'), which Fernet keys
// never use. The error wraps [ErrInvalidKey] and describes the problem
// without quoting the input.
func ParseKey(s string) (Key, error) {
	k, problem := parseKey(strings.TrimSpace(s))
	if problem != "" {
		return Key{}, fmt.Errorf("seal: %w: %s", ErrInvalidKey, problem)
	}
	return k, nil
}

// parseKey parses an encoded key. On failure it returns a description of
// the problem that does not quote s.
func parseKey(s string) (Key, string) {
	if s == "" {
		return Key{}, "the key is empty"
	}
	if len(s) != encodedKeyLen {
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				return Key{}, "the key contains characters that are not urlsafe base64"
			}
		}
		return Key{}, fmt.Sprintf("the key is %d characters long, want %d", len(s), encodedKeyLen)
	}
	for i := 0; i < encodedKeyLen-1; i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '+' || c == '/':
			return Key{}, fmt.Sprintf("the character at position %d is from the standard base64 alphabet, not the urlsafe one ('-' and '_' instead of '+' and '/')", i+1)
		default:
			return Key{}, fmt.Sprintf("the character at position %d is not urlsafe base64", i+1)
		}
	}
	if s[encodedKeyLen-1] != '=' {
		return Key{}, fmt.Sprintf("the character at position %d must be the padding character '='", encodedKeyLen)
	}
	var raw [33]byte // DecodedLen(44) is 33; 32 are used
	n, err := base64.URLEncoding.Decode(raw[:], []byte(s))
	if err != nil || n != 32 {
		return Key{}, "the key is not valid urlsafe base64"
	}
	allZero := true
	for _, c := range raw[:32] {
		if c != 0 {
			allZero = false
			break
		}
	}
	if allZero {
		return Key{}, "the key is all zero bytes, a placeholder rather than a generated key"
	}
	k := newKey(raw[:32])
	clear(raw[:])
	return k, ""
}

// Encode returns the 44-character urlsafe base64 encoding of the key,
// which [ParseKey] reads back. It is the secret: show it only to the
// person who must save it, and never log it. Encode returns "" for the
// zero Key.
func (k Key) Encode() string {
	m := k.mat()
	if m == nil {
		return ""
	}
	var raw [32]byte
	copy(raw[:16], m.signing[:])
	copy(raw[16:], m.encryption[:])
	s := base64.URLEncoding.EncodeToString(raw[:])
	clear(raw[:])
	return s
}

// IsZero reports whether k is the zero Key, which holds no key.
func (k Key) IsZero() bool { return k.mat() == nil }

// String returns "seal.Key(REDACTED)", or "seal.Key(none)" for the zero
// Key. It never returns key material: use [Key.Encode] for that.
func (k Key) String() string {
	if k.mat() == nil {
		return "seal.Key(none)"
	}
	return "seal.Key(REDACTED)"
}

// GoString returns "seal.Key{REDACTED}", or "seal.Key{}" for the zero
// Key, so that %#v does not print key material.
func (k Key) GoString() string {
	if k.mat() == nil {
		return "seal.Key{}"
	}
	return "seal.Key{REDACTED}"
}

// Format implements [fmt.Formatter] so that every verb (%v, %+v, %#v, %s,
// %x, %d...) prints the redacted form: GoString for %#v, String otherwise.
func (k Key) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		io.WriteString(f, k.GoString())
		return
	}
	io.WriteString(f, k.String())
}

// LogValue implements [slog.LogValuer]: a Key logs as its String form.
func (k Key) LogValue() slog.Value { return slog.StringValue(k.String()) }
