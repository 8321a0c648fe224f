package seal

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"
)

// ErrUnknownKeyID means content names a key id that the keyring does not
// hold: the key that sealed it was not loaded.
var ErrUnknownKeyID = errors.New("no key with that id in the keyring")

// MaxKeyIDLen is the longest key id accepted.
const MaxKeyIDLen = 64

// KeyID returns the default id of a key that was given none: "k-" and the
// first 8 hex digits of SHA-256("comply key id\x00" || raw key). It
// identifies the key without revealing it. KeyID of the zero Key is "".
func KeyID(k Key) string {
	m := k.mat()
	if m == nil {
		return ""
	}
	h := sha256.New()
	h.Write([]byte("comply key id\x00"))
	h.Write(m.signing[:])
	h.Write(m.encryption[:])
	var sum [sha256.Size]byte
	return "k-" + hex.EncodeToString(h.Sum(sum[:0])[:4])
}

// ValidKeyID reports whether id is a valid key id: 1 to [MaxKeyIDLen]
// characters from A-Z, a-z, 0-9, '.', '_' and '-'.
func ValidKeyID(id string) bool {
	if id == "" || len(id) > MaxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// A NamedKey is a key and its id, as written "ID:KEY" in a keyring.
// The id is not secret: it is stored next to the content the key seals,
// in the entry metadata's encryption_key_version.
type NamedKey struct {
	ID  string
	Key Key
}

// NewNamedKeyring returns a keyring that encrypts with primary and
// decrypts with any of its keys. Ids must be valid ([ValidKeyID]) and
// unique, keys non-zero and distinct; an empty ID is replaced by [KeyID].
// Errors wrap [ErrInvalidKey] or [ErrNoKey] and name ids, never keys.
func NewNamedKeyring(primary NamedKey, older ...NamedKey) (*Keyring, error) {
	return newNamedKeyring("keyring", append([]NamedKey{primary}, older...))
}

// newNamedKeyring builds a keyring of all; source names where they came
// from, for errors.
func newNamedKeyring(source string, all []NamedKey) (*Keyring, error) {
	r := &Keyring{keys: make([]Key, 0, len(all)), ids: make([]string, 0, len(all))}
	for i, nk := range all {
		if nk.Key.mat() == nil {
			return nil, fmt.Errorf("seal: %s: %w: key %d is the zero Key", source, ErrNoKey, i+1)
		}
		id := nk.ID
		if id == "" {
			id = KeyID(nk.Key)
		}
		if !ValidKeyID(id) {
			return nil, fmt.Errorf("seal: %s: %w: key %d has an id that is not 1 to %d characters of A-Z a-z 0-9 . _ -", source, ErrInvalidKey, i+1, MaxKeyIDLen)
		}
		for j, o := range r.ids {
			if o == id {
				return nil, fmt.Errorf("seal: %s: %w: keys %d and %d have the same id %q", source, ErrInvalidKey, j+1, i+1, id)
			}
			if containsKey(r.keys[j:j+1], nk.Key) {
				return nil, fmt.Errorf("seal: %s: %w: keys %d and %d (ids %q and %q) are the same key", source, ErrInvalidKey, j+1, i+1, o, id)
			}
			if om, km := r.keys[j].mat(), nk.Key.mat(); om.signing == km.signing {
				return nil, fmt.Errorf("seal: %s: %w: keys %d and %d", source, ErrSharedSigningKey, j+1, i+1)
			}
		}
		r.keys = append(r.keys, nk.Key)
		r.ids = append(r.ids, id)
	}
	return r, nil
}

// PrimaryID returns the id of the primary key, "" for a keyring with no
// key.
func (r *Keyring) PrimaryID() string {
	if r.Len() == 0 {
		return ""
	}
	return r.id(0)
}

// id returns the id of r.keys[i].
func (r *Keyring) id(i int) string {
	if i < len(r.ids) {
		return r.ids[i]
	}
	return KeyID(r.keys[i])
}

// IDs returns the ids of the keys in the keyring, primary first.
func (r *Keyring) IDs() []string {
	n := r.Len()
	ids := make([]string, n)
	for i := range n {
		ids[i] = r.id(i)
	}
	return ids
}

// Key returns the key with the given id.
func (r *Keyring) Key(id string) (Key, bool) {
	if i := r.index(id); i >= 0 {
		return r.keys[i], true
	}
	return Key{}, false
}

// index returns the position of the key with the given id, or -1.
func (r *Keyring) index(id string) int {
	for i := range r.Len() {
		if r.id(i) == id {
			return i
		}
	}
	return -1
}

// Named returns the keyring's keys with their ids, primary first.
func (r *Keyring) Named() []NamedKey {
	n := r.Len()
	out := make([]NamedKey, n)
	for i := range n {
		out[i] = NamedKey{ID: r.id(i), Key: r.keys[i]}
	}
	return out
}

// EncryptWith is like [Keyring.Encrypt] with the key of the given id
// instead of the primary. The error wraps [ErrUnknownKeyID] if the
// keyring holds no such key.
func (r *Keyring) EncryptWith(id string, plaintext []byte) (string, error) {
	i := r.index(id)
	if i < 0 {
		return "", unknownID("encrypt", id)
	}
	if _, err := r.encryptKey(len(plaintext)); err != nil {
		return "", err
	}
	iv, err := newIV()
	if err != nil {
		return "", err
	}
	return encryptString(r.keys[i].mat(), time.Now().Unix(), iv[:], plaintext), nil
}

// EncryptID is like [Keyring.Encrypt] and also returns the id of the key
// that sealed the content (the primary's).
func (r *Keyring) EncryptID(plaintext []byte) (stored, id string, err error) {
	s, err := r.Encrypt(plaintext)
	if err != nil {
		return "", "", err
	}
	return s, r.id(0), nil
}

// DecryptID is like [Keyring.Decrypt] and also returns the id of the key
// that opened the content.
func (r *Keyring) DecryptID(stored string) (plaintext []byte, id string, err error) {
	pt, i, err := r.decrypt(stored, -1)
	if err != nil {
		return nil, "", err
	}
	return pt, r.id(i), nil
}

// DecryptWith decrypts stored with the key of the given id only, as named
// by an entry's encryption_key_version, without trying the others. The
// error wraps [ErrUnknownKeyID] if the keyring holds no such key, and
// [ErrWrongKey] if that key does not open the content.
func (r *Keyring) DecryptWith(id, stored string) ([]byte, error) {
	if r.Len() == 0 {
		return nil, noKeyError("decrypt")
	}
	i := r.index(id)
	if i < 0 {
		return nil, unknownID("decrypt", id)
	}
	pt, _, err := r.decrypt(stored, i)
	return pt, err
}

func unknownID(op, id string) error {
	if !ValidKeyID(id) {
		return fmt.Errorf("seal: %s: %w: the id is not a valid key id", op, ErrUnknownKeyID)
	}
	return fmt.Errorf("seal: %s: %w: %q", op, ErrUnknownKeyID, id)
}
