package subjectkey

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
)

// VersionPrefix starts the encryption_key_version of content sealed under
// a subject's data key.
const VersionPrefix = "subject:"

// DefaultCacheSize is the default of Options.CacheSize.
const DefaultCacheSize = 10_000

// A Store is what a Vault keeps its blobs in.
type Store interface {
	store.Sidecar
	store.Destroyer
}

// Options configure a Vault.
type Options struct {
	// Subject is the metadata key whose value names the data subject,
	// such as "user_id": letters, digits, '_' and '-'.
	Subject string
	// Keyring wraps data keys under its primary key and unwraps them by
	// the id each blob records.
	Keyring *seal.Keyring
	// CacheSize bounds the unwrapped data keys kept in memory; zero means
	// DefaultCacheSize.
	CacheSize int
	// Now is the clock of tombstones; nil means time.Now.
	Now func() time.Time
}

// A Vault creates, opens and erases the data keys of one subject key.
// Its methods may be called concurrently.
type Vault struct {
	st   Store
	o    Options
	mu   sync.Mutex
	name []byte              // the HMAC key, once loaded
	keys map[string]*dataKey // by hmac
}

type dataKey struct {
	id string
	kr *seal.Keyring
}

// ErrBadSubject is wrapped by the error of a subject key or value that
// cannot be used.
var ErrBadSubject = errors.New("bad subject")

// An ErasedError says that content cannot be opened because its subject's
// data key was erased.
type ErasedError struct {
	Subject string    // the subject key, such as user_id
	At      time.Time // when the key was erased
	Reason  string
}

func (e *ErasedError) Error() string {
	return fmt.Sprintf("content erased on %s (%s)", e.At.UTC().Format("2006-01-02"), e.Reason)
}

// New returns a Vault over st.
func New(st Store, o Options) (*Vault, error) {
	if !validSubject(o.Subject) {
		return nil, fmt.Errorf("subjectkey: %w: the subject key must be 1 to 64 letters, digits, '_' or '-'", ErrBadSubject)
	}
	if o.Keyring == nil || o.Keyring.Len() == 0 {
		return nil, fmt.Errorf("subjectkey: %w", seal.ErrNoKey)
	}
	if o.CacheSize <= 0 {
		o.CacheSize = DefaultCacheSize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Vault{st: st, o: o, keys: map[string]*dataKey{}}, nil
}

// Subject returns the subject key the vault serves.
func (v *Vault) Subject() string { return v.o.Subject }

func validSubject(s string) bool {
	return s != "" && len(s) <= 64 && !strings.ContainsFunc(s, func(r rune) bool {
		return !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)) || r == '_' || r == '-')
	})
}

const (
	nameKeyBlob  = "subjects/namekey"
	nameKeyMagic = "comply-subject-namekey/v1"
)

func (v *Vault) keyBlob(h string) string { return "subjects/" + v.o.Subject + "/keys/" + h }
func (v *Vault) tombDir(h string) string { return "subjects/" + v.o.Subject + "/erased/" + h + "/" }

// nameKey loads, or with create makes, the HMAC key. The caller holds mu.
func (v *Vault) nameKey(ctx context.Context, create bool) ([]byte, error) {
	if v.name != nil {
		return v.name, nil
	}
	b, err := v.st.ReadBlob(ctx, nameKeyBlob)
	if errors.Is(err, store.ErrNotFound) && create {
		raw := make([]byte, 32)
		rand.Read(raw)
		wrapped, werr := v.wrap(nameKeyMagic, nil, raw)
		if werr != nil {
			return nil, werr
		}
		werr = v.st.CreateDestroyableBlob(ctx, nameKeyBlob, wrapped)
		if werr != nil && !errors.Is(werr, store.ErrBlobExists) {
			return nil, fmt.Errorf("subjectkey: %w", werr)
		}
		b, err = v.st.ReadBlob(ctx, nameKeyBlob) // another writer's, if it created it first
	}
	if err != nil {
		return nil, fmt.Errorf("subjectkey: %w", err)
	}
	_, raw, err := v.unwrap(nameKeyMagic, b)
	if err != nil {
		return nil, err
	}
	v.name = raw
	return raw, nil
}

// wrap returns a key blob: magic, fields, the wrapping key's id and the
// Fernet token of raw under the keyring's primary key.
func (v *Vault) wrap(magic string, fields []string, raw []byte) ([]byte, error) {
	return v.wrapWith(v.o.Keyring.PrimaryID(), magic, fields, raw)
}

// wrapWith is wrap under the keyring's key of id.
func (v *Vault) wrapWith(id, magic string, fields []string, raw []byte) ([]byte, error) {
	tok, err := v.o.Keyring.EncryptWith(id, raw)
	if err != nil {
		return nil, fmt.Errorf("subjectkey: wrapping a key: %w", err)
	}
	var b strings.Builder
	b.WriteString(magic + "\n")
	for _, f := range fields {
		b.WriteString(f + "\n")
	}
	fmt.Fprintf(&b, "wrapped-by %s\n%s\n", id, tok)
	return []byte(b.String()), nil
}

// unwrap parses a key blob and unwraps its key; fields are the lines
// between the magic and "wrapped-by".
func (v *Vault) unwrap(magic string, b []byte) (fields map[string]string, raw []byte, err error) {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) < 3 || lines[0] != magic {
		return nil, nil, fmt.Errorf("subjectkey: malformed %s blob", magic)
	}
	fields = map[string]string{}
	for _, l := range lines[1 : len(lines)-1] {
		k, val, _ := strings.Cut(l, " ")
		fields[k] = val
	}
	raw, err = v.o.Keyring.DecryptWith(fields["wrapped-by"], lines[len(lines)-1])
	if err != nil {
		return nil, nil, fmt.Errorf("subjectkey: unwrapping a key wrapped by %q: %w", fields["wrapped-by"], err)
	}
	return fields, raw, nil
}

// hmacOf returns the blob name part of a subject value.
func (v *Vault) hmacOf(key []byte, value string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(v.o.Subject + "\x00" + value))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// HMAC returns the keyed hash that names the subject value in blobs and
// in erasure records (never the value itself). It creates the vault's
// name key if there is none yet.
func (v *Vault) HMAC(ctx context.Context, value string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	nk, err := v.nameKey(ctx, true)
	if err != nil {
		return "", err
	}
	return v.hmacOf(nk, value), nil
}

const dataKeyMagic = "comply-subject-key/v1"

// dataKeyFor returns the subject value's data key, creating it if create
// and there is none (or it was erased). The caller holds mu.
func (v *Vault) dataKeyFor(ctx context.Context, value string, create bool) (*dataKey, string, error) {
	if value == "" {
		return nil, "", fmt.Errorf("subjectkey: %w: an empty subject value", ErrBadSubject)
	}
	nk, err := v.nameKey(ctx, create)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	h := v.hmacOf(nk, value)
	if dk := v.keys[h]; dk != nil {
		return dk, h, nil
	}
	b, err := v.st.ReadBlob(ctx, v.keyBlob(h))
	switch {
	case errors.Is(err, store.ErrNotFound) && create:
		k, err := seal.GenerateKey()
		if err != nil {
			return nil, "", err
		}
		var rid [8]byte
		rand.Read(rid[:])
		id := "s-" + hex.EncodeToString(rid[:])
		blob, err := v.wrap(dataKeyMagic, []string{"subject " + v.o.Subject, "id " + id,
			"created " + v.o.Now().UTC().Format(time.RFC3339)}, []byte(k.Encode()))
		if err != nil {
			return nil, "", err
		}
		err = v.st.CreateDestroyableBlob(ctx, v.keyBlob(h), blob)
		if errors.Is(err, store.ErrBlobExists) {
			// Another writer of the store (S3, several writers) created
			// this subject's key first: use that one.
			if b, err = v.st.ReadBlob(ctx, v.keyBlob(h)); err != nil {
				return nil, "", fmt.Errorf("subjectkey: %w", err)
			}
			return v.dataKeyFrom(h, b)
		}
		if err != nil {
			return nil, "", fmt.Errorf("subjectkey: %w", err)
		}
		return v.remember(h, id, k)
	case errors.Is(err, store.ErrNotFound):
		return nil, h, nil
	case err != nil:
		return nil, "", fmt.Errorf("subjectkey: %w", err)
	}
	return v.dataKeyFrom(h, b)
}

// dataKeyFrom unwraps the data key blob b of hmac h and remembers it.
func (v *Vault) dataKeyFrom(h string, b []byte) (*dataKey, string, error) {
	f, raw, err := v.unwrap(dataKeyMagic, b)
	if err != nil {
		return nil, "", err
	}
	k, err := seal.ParseKey(string(raw))
	if err != nil {
		return nil, "", fmt.Errorf("subjectkey: a malformed data key: %w", seal.ErrInvalidKey)
	}
	return v.remember(h, f["id"], k)
}

func (v *Vault) remember(h, id string, k seal.Key) (*dataKey, string, error) {
	kr, err := seal.NewNamedKeyring(seal.NamedKey{ID: id, Key: k})
	if err != nil {
		return nil, "", err
	}
	if len(v.keys) >= v.o.CacheSize {
		clear(v.keys)
	}
	dk := &dataKey{id: id, kr: kr}
	v.keys[h] = dk
	return dk, h, nil
}

// Seal encrypts plaintext under the subject value's data key, creating
// the key on first use, and returns the stored content and the version to
// record (VersionPrefix and the data key's id).
func (v *Vault) Seal(ctx context.Context, value string, plaintext []byte) (stored, version string, err error) {
	v.mu.Lock()
	dk, _, err := v.dataKeyFor(ctx, value, true)
	v.mu.Unlock()
	if err != nil {
		return "", "", err
	}
	s, err := dk.kr.Encrypt(plaintext)
	if err != nil {
		return "", "", err
	}
	return s, VersionPrefix + dk.id, nil
}

// Open decrypts content sealed under the subject value's data key of the
// given version. If that key was erased, the error is an *ErasedError.
func (v *Vault) Open(ctx context.Context, value, version, stored string) ([]byte, error) {
	id, ok := strings.CutPrefix(version, VersionPrefix)
	if !ok {
		return nil, fmt.Errorf("subjectkey: %q is not a subject key version", version)
	}
	v.mu.Lock()
	dk, h, err := v.dataKeyFor(ctx, value, false)
	v.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if dk != nil && dk.id == id {
		return dk.kr.DecryptWith(id, stored)
	}
	if h != "" {
		if t, err := v.tombstone(ctx, h, id); err == nil {
			return nil, &ErasedError{Subject: v.o.Subject, At: t.Time, Reason: t.Reason}
		}
	}
	return nil, fmt.Errorf("subjectkey: no data key %s for this subject: %w", id, seal.ErrUnknownKeyID)
}

// An Erasure is the tombstone of one erased data key.
type Erasure struct {
	Subject   string    // the subject key, such as user_id
	HMAC      string    // names the subject value (HMAC)
	KeyID     string    // the data key erased
	Time      time.Time // when
	Reason    string
	LegalHold bool // the entries themselves are kept under a legal hold or retention lock (GDPR Art. 17(3))
}

const tombMagic = "comply-subject-erased/v1"

// Text returns the tombstone's text.
func (e *Erasure) Text() string {
	return fmt.Sprintf("%s\nsubject %s\nhmac %s\nid %s\ntime %s\nlegal-hold %t\nreason %s\n", tombMagic, e.Subject, e.HMAC, e.KeyID,
		e.Time.UTC().Format(time.RFC3339Nano), e.LegalHold, e.Reason)
}

// ParseErasure parses a tombstone's text.
func ParseErasure(b []byte) (*Erasure, error) {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 7 || lines[0] != tombMagic {
		return nil, errors.New("subjectkey: malformed tombstone")
	}
	f := map[string]string{}
	for _, l := range lines[1:] {
		k, val, _ := strings.Cut(l, " ")
		f[k] = val
	}
	t, err := time.Parse(time.RFC3339Nano, f["time"])
	if err != nil {
		return nil, errors.New("subjectkey: malformed tombstone time")
	}
	return &Erasure{Subject: f["subject"], HMAC: f["hmac"], KeyID: f["id"], Time: t.UTC(), Reason: f["reason"],
		LegalHold: f["legal-hold"] == "true"}, nil
}

func (v *Vault) tombstone(ctx context.Context, h, id string) (*Erasure, error) {
	b, err := v.st.ReadBlob(ctx, v.tombDir(h)+id)
	if err != nil {
		return nil, err
	}
	return ParseErasure(b)
}

// ErrNothingToErase is returned by Erase for a subject value without a
// data key (never logged, or already erased).
var ErrNothingToErase = errors.New("the subject has no data key to erase")

// Erase erases the subject value's data key: it writes the tombstone, has
// record sign the erasure (the ledger's record; nil for none), then
// destroys every stored version of the wrapped key. A failure after the
// tombstone leaves the key in place: run Erase again. reason must be one
// line of text.
func (v *Vault) Erase(ctx context.Context, value, reason string, legalHold bool, record func(*Erasure) error) (*Erasure, error) {
	if reason == "" || strings.ContainsAny(reason, "\r\n") || strings.ContainsFunc(reason, unicode.IsControl) {
		return nil, errors.New("subjectkey: the reason must be one line of text")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	dk, h, err := v.dataKeyFor(ctx, value, false)
	if err != nil {
		return nil, err
	}
	if dk == nil {
		return nil, ErrNothingToErase
	}
	e := &Erasure{Subject: v.o.Subject, HMAC: h, KeyID: dk.id, Time: v.o.Now().UTC(), Reason: reason, LegalHold: legalHold}
	if err := v.st.WriteBlob(ctx, v.tombDir(h)+dk.id, []byte(e.Text())); err != nil {
		return nil, fmt.Errorf("subjectkey: writing the tombstone: %w", err)
	}
	if record != nil {
		if err := record(e); err != nil {
			return nil, err
		}
	}
	delete(v.keys, h)
	if err := v.st.DestroyBlob(ctx, v.keyBlob(h)); err != nil {
		return nil, fmt.Errorf("subjectkey: destroying the data key: %w", err)
	}
	return e, nil
}

// Erasures returns the tombstones of every erased data key of the store,
// whatever their subject key, oldest first, with times within [start,
// end] (zero bounds are open).
func Erasures(ctx context.Context, sc store.Sidecar, start, end time.Time) ([]Erasure, error) {
	names, err := sc.ListBlobs(ctx, "subjects/")
	if err != nil {
		return nil, fmt.Errorf("subjectkey: %w", err)
	}
	var out []Erasure
	for _, n := range names {
		if !strings.Contains(n, "/erased/") {
			continue
		}
		b, err := sc.ReadBlob(ctx, n)
		if err != nil {
			return nil, fmt.Errorf("subjectkey: %w", err)
		}
		e, err := ParseErasure(b)
		if err != nil {
			return nil, fmt.Errorf("subjectkey: %s: %w", n, err)
		}
		if (start.IsZero() || !e.Time.Before(start)) && (end.IsZero() || !e.Time.After(end)) {
			out = append(out, *e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}
