package seal

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/complyhq/comply/internal/keyfile"
)

// maxKeyFileSize bounds what LoadKeyring reads: a key file holds a few
// 45-byte lines, so anything this large is the wrong file.
const maxKeyFileSize = 1 << 20

// A Keyring is a primary [Key], used to encrypt, and older keys that
// Decrypt also tries, for content written before a key rotation.
// A Keyring is immutable and safe for concurrent use. Create one with
// [NewKeyring], [ParseKeyring], [KeyringFromEnv] or [LoadKeyring]; the zero
// Keyring holds no key.
type Keyring struct {
	keys []Key    // keys[0] is the primary (possibly zero); the rest are non-zero and distinct
	ids  []string // ids[i] names keys[i]; nil means KeyID of each
}

// NewKeyring returns a keyring that encrypts with primary and decrypts with
// primary or any of the older keys, tried in order. Zero Keys and
// duplicates among the older keys are dropped. If primary is the zero Key,
// Encrypt and Decrypt fail with an error wrapping [ErrNoKey].
//
// Keys must be generated independently: Decrypt picks the key whose
// signing half authenticates the content, so two keys with the same
// signing half and different encryption halves make it ambiguous (it then
// tries each, and a wrong one is caught by the padding check with
// probability about 255/256). ParseKeyring rejects such keyrings.
func NewKeyring(primary Key, older ...Key) *Keyring {
	keys := make([]Key, 1, 1+len(older))
	keys[0] = primary
	for _, k := range older {
		if k.mat() == nil || containsKey(keys, k) {
			continue
		}
		keys = append(keys, k)
	}
	r := &Keyring{keys: keys}
	if keys[0].mat() != nil {
		r.ids = make([]string, len(keys))
		for i, k := range keys {
			r.ids[i] = KeyID(k)
		}
	}
	return r
}

func containsKey(keys []Key, k Key) bool {
	km := k.mat()
	for _, o := range keys {
		if om := o.mat(); om == km || (om != nil && km != nil && om.signing == km.signing && om.encryption == km.encryption) {
			return true
		}
	}
	return false
}

// ParseKeyring parses one or more encoded keys (see [ParseKey]) separated
// by commas, spaces or newlines. The first is the primary. Each may be
// written "ID:KEY" to give it an id (see [ValidKeyID]); a bare KEY gets
// [KeyID]. Blank lines are
// ignored, and so is everything from a '#' to the end of its line, so
// whole-line and trailing comments both work. Errors wrap [ErrInvalidKey]
// (a bad key, identified by its position, never quoted, or two keys that
// share a signing half) or [ErrNoKey] (no key at all).
func ParseKeyring(s string) (*Keyring, error) {
	return parseKeyring(s, "keyring")
}

// parseKeyring parses s; source names where s came from, for errors.
func parseKeyring(s, source string) (*Keyring, error) {
	var keys []NamedKey
	lineNo := 0
	for line := range strings.Lines(s) {
		lineNo++
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, field := range strings.FieldsFunc(line, isSeparator) {
			nk, problem := parseNamedKey(field)
			if problem != "" {
				return nil, fmt.Errorf("seal: %s: %w: key %d (line %d): %s",
					source, ErrInvalidKey, len(keys)+1, lineNo, problem)
			}
			if !repeated(keys, nk) {
				keys = append(keys, nk)
			}
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("seal: %s: %w: it holds no key, only blank space or comments",
			source, ErrNoKey)
	}
	for i, a := range keys {
		for j, b := range keys[:i] {
			if ma, mb := a.Key.mat(), b.Key.mat(); ma.signing == mb.signing && ma.encryption != mb.encryption {
				return nil, fmt.Errorf("seal: %s: %w: keys %d and %d have the same first half (the signing key) and different second halves, so content under one cannot be told from content under the other",
					source, ErrSharedSigningKey, j+1, i+1)
			}
		}
	}
	return newNamedKeyring(source, keys)
}

// parseNamedKey parses "KEY" or "ID:KEY" (':' is not in the base64url
// alphabet, so the split is unambiguous). A bare KEY gets its [KeyID].
// On failure it returns a description of the problem that quotes neither
// the key nor the id.
func parseNamedKey(field string) (NamedKey, string) {
	id, enc, named := strings.Cut(field, ":")
	if !named {
		enc, id = id, ""
	} else if !ValidKeyID(id) {
		return NamedKey{}, fmt.Sprintf("the id before ':' is not 1 to %d characters of A-Z a-z 0-9 . _ -", MaxKeyIDLen)
	}
	k, problem := parseKey(enc)
	if problem != "" {
		return NamedKey{}, problem
	}
	if id == "" {
		id = KeyID(k)
	}
	return NamedKey{ID: id, Key: k}, ""
}

// repeated reports whether nk, id and key, is already in keys: a key
// listed twice under the same id is kept once.
func repeated(keys []NamedKey, nk NamedKey) bool {
	for _, o := range keys {
		if o.ID == nk.ID && containsKey([]Key{o.Key}, nk.Key) {
			return true
		}
	}
	return false
}

func isSeparator(r rune) bool {
	switch r {
	case ',', ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

// KeyringFromEnv parses the keyring in the AUDIT_ENCRYPTION_KEY environment
// variable ([EnvKey]), with [ParseKeyring] syntax; usually it is a single
// key. If the variable is unset or blank, the error wraps [ErrNoKey].
func KeyringFromEnv() (*Keyring, error) {
	v := os.Getenv(EnvKey)
	if strings.TrimSpace(v) == "" {
		return nil, fmt.Errorf("seal: %w: %s is not set", ErrNoKey, EnvKey)
	}
	return parseKeyring(v, EnvKey)
}

// LoadKeyring reads a keyring file, with [ParseKeyring] syntax. It refuses
// a file that its group or other users can access (mode&0o077 != 0), as
// ssh does for private keys, with a [*KeyFileModeError]; chmod 600 fixes
// that. Errors name the path but never quote the file's contents.
func LoadKeyring(path string) (*Keyring, error) {
	data, err := keyfile.Read(path, true, maxKeyFileSize)
	var me *keyfile.ModeError
	if errors.As(err, &me) {
		return nil, &KeyFileModeError{Path: me.Path, Mode: me.Mode}
	}
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	r, err := parseKeyring(string(data), "key file "+path)
	clear(data)
	return r, err
}

// Primary returns the key that Encrypt uses; the zero Key for a nil or
// zero Keyring.
func (r *Keyring) Primary() Key {
	if r == nil || len(r.keys) == 0 {
		return Key{}
	}
	return r.keys[0]
}

// Len returns the number of keys in the keyring, primary included: 0 for a
// nil or zero Keyring, or one whose primary is the zero Key.
func (r *Keyring) Len() int {
	if r == nil || len(r.keys) == 0 || r.keys[0].mat() == nil {
		return 0
	}
	return len(r.keys)
}

// String describes the keyring without key material, for example
// "seal.Keyring(3 keys, REDACTED)".
func (r *Keyring) String() string {
	switch n := r.Len(); n {
	case 0:
		return "seal.Keyring(no key)"
	case 1:
		return "seal.Keyring(1 key, REDACTED)"
	default:
		return fmt.Sprintf("seal.Keyring(%d keys, REDACTED)", n)
	}
}

// Format implements [fmt.Formatter]: every verb prints the String form.
func (r *Keyring) Format(f fmt.State, verb rune) { io.WriteString(f, r.String()) }

// LogValue implements [slog.LogValuer]: a Keyring logs as its String form.
func (r *Keyring) LogValue() slog.Value { return slog.StringValue(r.String()) }

// noKeyError is returned when a Keyring has no usable key.
func noKeyError(op string) error {
	return fmt.Errorf("seal: %s: %w: the keyring is nil or its primary key is the zero Key", op, ErrNoKey)
}
