package seal

import (
	"crypto/cipher"
	"crypto/hpke"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
)

// SealedPrefix starts content sealed to a public key ([SealingKey.Seal]):
// "hpke1.", the key id, '.', and base64url without padding of the HPKE
// encapsulated key followed by the ciphertext. '.' is not in the base64url
// alphabet, so sealed content is never mistaken for Fernet content.
const SealedPrefix = "hpke1."

// The HPKE suites comply seals with: the KEM is DHKEM(X25519, HKDF-SHA256)
// (KEMX25519) or the ML-KEM-768 + X25519 hybrid (KEMMLKEM768X25519), the
// KDF HKDF-SHA256 and the AEAD AES-256-GCM, in base mode with hpkeInfo as
// info.
const (
	KEMX25519         uint16 = 0x0020
	KEMMLKEM768X25519 uint16 = 0x647a
)

// hpkeInfo binds every sealing to its purpose.
const hpkeInfo = "comply content v1"

// maxSealed bounds the sealed content Open accepts.
const maxSealed = 64 << 20

var (
	// ErrWrongIdentity means sealed content names a key id other than the
	// identity's: it was sealed to another public key.
	ErrWrongIdentity = errors.New("content was sealed to another key")

	// ErrNeedsIdentity means content is sealed to a public key and only
	// the matching private key (an identity) opens it: a keyring of
	// Fernet keys, or the public key, cannot.
	ErrNeedsIdentity = errors.New("sealed content opens only with the private key it was sealed to")
)

func kemOf(id uint16) (hpke.KEM, error) {
	switch id {
	case KEMX25519, KEMMLKEM768X25519:
		return hpke.NewKEM(id)
	}
	return nil, fmt.Errorf("seal: %w: unsupported KEM 0x%04x", ErrMalformed, id)
}

// A SealingKey is the public half of a sealing key pair: it seals content
// that only the private half (an [Identity]) opens. A writer that holds
// only a SealingKey cannot read what it wrote. It is not secret.
type SealingKey struct {
	pub  hpke.PublicKey
	id   string
	sess *sessions // session mode (WithSessions), or nil
}

// An Identity is the private half of a sealing key pair: it opens content
// sealed to its [SealingKey]. It is a secret; formatting it prints a
// redacted placeholder.
type Identity struct {
	priv hpke.PrivateKey
	pub  *SealingKey

	mu    sync.Mutex
	cache map[string]cipher.AEAD // session keys by encapsulated key (base64url)
}

// GenerateIdentity returns a new key pair: X25519, or with pq the
// ML-KEM-768 + X25519 hybrid, which resists a future quantum computer.
func GenerateIdentity(pq bool) (*Identity, error) {
	id := KEMX25519
	if pq {
		id = KEMMLKEM768X25519
	}
	kem, err := kemOf(id)
	if err != nil {
		return nil, err
	}
	priv, err := kem.GenerateKey()
	if err != nil {
		return nil, fmt.Errorf("seal: generating a sealing key: %w", err)
	}
	return newIdentity(priv)
}

func newIdentity(priv hpke.PrivateKey) (*Identity, error) {
	pk, err := newSealingKey(priv.PublicKey())
	if err != nil {
		return nil, err
	}
	return &Identity{priv: priv, pub: pk}, nil
}

func newSealingKey(pub hpke.PublicKey) (*SealingKey, error) {
	var kid [2]byte
	binary.BigEndian.PutUint16(kid[:], pub.KEM().ID())
	h := sha256.New()
	h.Write([]byte("comply sealing key id\x00"))
	h.Write(kid[:])
	h.Write(pub.Bytes())
	return &SealingKey{pub: pub, id: "s-" + hex.EncodeToString(h.Sum(nil)[:6])}, nil
}

// ID returns the key id: "s-" and 12 hex digits of a SHA-256 of the KEM
// and the public key. Content sealed to the key names it, and entries
// record it as encryption_key_version.
func (s *SealingKey) ID() string { return s.id }

// KEM returns the HPKE KEM identifier of the key.
func (s *SealingKey) KEM() uint16 { return s.pub.KEM().ID() }

// ID returns the id of the identity's public key.
func (i *Identity) ID() string { return i.pub.id }

// SealingKey returns the public half of the identity.
func (i *Identity) SealingKey() *SealingKey { return i.pub }

// Seal seals plaintext to the key and returns the stored form,
// "hpke1.ID.DATA" (see [SealedPrefix]). Each call uses a fresh ephemeral
// key.
func (s *SealingKey) Seal(plaintext []byte) (string, error) {
	if len(plaintext) > maxPlaintext {
		return "", fmt.Errorf("seal: seal: the plaintext is %d bytes, more than the %d supported", len(plaintext), maxPlaintext)
	}
	if s.sess != nil {
		return s.sessionSeal(plaintext)
	}
	ct, err := hpke.Seal(s.pub, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte(hpkeInfo), plaintext)
	if err != nil {
		return "", fmt.Errorf("seal: seal: %w", err)
	}
	n := len(SealedPrefix) + len(s.id) + 1
	out := make([]byte, n, n+base64.RawURLEncoding.EncodedLen(len(ct)))
	copy(out, SealedPrefix)
	copy(out[len(SealedPrefix):], s.id)
	out[n-1] = '.'
	return string(base64.RawURLEncoding.AppendEncode(out, ct)), nil
}

// IsSealed reports whether stored looks like content sealed to a public
// key ([SealedPrefix] or [SessionSealedPrefix]) rather than Fernet content.
func IsSealed(stored string) bool {
	t := strings.TrimSpace(stored)
	return strings.HasPrefix(t, SealedPrefix) || strings.HasPrefix(t, SessionSealedPrefix)
}

// SealedKeyID returns the key id that sealed content names, and whether
// stored is well-formed enough to name one.
func SealedKeyID(stored string) (string, bool) {
	id, _, err := splitSealed(stored)
	return id, err == nil
}

func splitSealed(stored string) (id string, data []byte, err error) {
	if rest, ok := strings.CutPrefix(strings.TrimSpace(stored), SessionSealedPrefix); ok {
		id, _, _ := strings.Cut(rest, ".")
		if !ValidKeyID(id) {
			return "", nil, malformed("it is not " + SessionSealedPrefix + "ID.ENC.DATA with a valid key id")
		}
		return id, nil, nil
	}
	rest, ok := strings.CutPrefix(strings.TrimSpace(stored), SealedPrefix)
	if !ok {
		return "", nil, malformed("it does not start with " + SealedPrefix)
	}
	if len(rest) > maxSealed {
		return "", nil, malformed("the content is too large")
	}
	id, b64, ok := strings.Cut(rest, ".")
	if !ok || !ValidKeyID(id) {
		return "", nil, malformed("it is not " + SealedPrefix + "ID.DATA with a valid key id")
	}
	data, err = base64.RawURLEncoding.DecodeString(b64)
	if err != nil || len(data) == 0 {
		return "", nil, malformed("its data is not unpadded base64url")
	}
	return id, data, nil
}

// Open opens content sealed to the identity's public key. Errors wrap
// [ErrMalformed] (not sealed content), [ErrWrongIdentity] (sealed to
// another key) or [ErrWrongKey] (altered); they never include the
// plaintext or key material.
func (i *Identity) Open(stored string) ([]byte, error) {
	if rest, ok := strings.CutPrefix(strings.TrimSpace(stored), SessionSealedPrefix); ok {
		return i.openSession(rest)
	}
	id, data, err := splitSealed(stored)
	if err != nil {
		return nil, err
	}
	if id != i.pub.id {
		return nil, fmt.Errorf("seal: open: %w: it names key %s, this identity is %s", ErrWrongIdentity, id, i.pub.id)
	}
	pt, err := hpke.Open(i.priv, hpke.HKDFSHA256(), hpke.AES256GCM(), []byte(hpkeInfo), data)
	if err != nil {
		return nil, fmt.Errorf("seal: open: %w (the sealed content was altered or truncated)", ErrWrongKey)
	}
	return pt, nil
}

// String describes the identity without key material.
func (i *Identity) String() string { return "seal.Identity(" + i.pub.id + ", REDACTED)" }

// GoString is String.
func (i *Identity) GoString() string { return i.String() }

// Format implements [fmt.Formatter]: every verb prints the String form.
func (i *Identity) Format(f fmt.State, verb rune) { io.WriteString(f, i.String()) }

// LogValue implements [slog.LogValuer].
func (i *Identity) LogValue() slog.Value { return slog.StringValue(i.String()) }

// String names the public key by its id.
func (s *SealingKey) String() string { return "seal.SealingKey(" + s.id + ")" }
