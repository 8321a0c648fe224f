package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/complyhq/comply/internal/atomicfile"
)

// ErrNoSuchToken is wrapped by Revoke's error when no token has the name.
var ErrNoSuchToken = errors.New("auth: no such token")

// ErrTokenExists is wrapped by Create's error when the name is taken.
var ErrTokenExists = errors.New("auth: a token of that name exists")

// SecretPrefix begins every secret, so that a leaked one is recognisable
// (by secret scanners, for one).
const SecretPrefix = "cmp_"

// ReloadInterval is how often, at most, Authenticate looks whether the
// tokens file changed.
const ReloadInterval = time.Second

// fileVersion is the version of the tokens file this package writes and
// reads.
const fileVersion = 1

// secretBytes is the number of random bytes in a secret.
const secretBytes = 32

// secretLen is the length of a secret: the prefix and 32 bytes in
// unpadded base64url.
var secretLen = len(SecretPrefix) + base64.RawURLEncoding.EncodedLen(secretBytes)

// A FileError says that the tokens file is not one this package can use:
// invalid JSON, another version, a bad field, or unsafe permissions.
type FileError struct {
	Path string
	Why  string
}

func (e *FileError) Error() string {
	return fmt.Sprintf("tokens file %s: %s", e.Path, e.Why)
}

// CheckName returns nil if name may name a token: 1 to 64 characters,
// each a letter, a digit, '.', '_' or '-', not beginning with SecretPrefix
// (so that a secret pasted where a name belongs is refused, and never
// written to the file or an error).
func CheckName(name string) error {
	if strings.HasPrefix(name, SecretPrefix) {
		return fmt.Errorf("auth: token name: begins with %q, as secrets do (not shown); choose another", SecretPrefix)
	}
	if len(name) == 0 || len(name) > 64 {
		return fmt.Errorf("auth: token name %q: want 1 to 64 characters", name)
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '.', c == '_', c == '-':
		default:
			return fmt.Errorf("auth: token name %q: only letters, digits, '.', '_' and '-'", name)
		}
	}
	return nil
}

// entry is a token as the file keeps it.
type entry struct {
	Token
	hash [sha256.Size]byte
}

// fileDoc is the JSON document of the tokens file.
type fileDoc struct {
	Version int         `json:"version"`
	Tokens  []fileToken `json:"tokens"`
}

// fileToken is one token of the JSON document; the field order is the
// file's.
type fileToken struct {
	Name    string    `json:"name"`
	Role    Role      `json:"role"`
	Created time.Time `json:"created"`
	SHA256  string    `json:"sha256"`
}

// parseFile decodes a tokens file; path only names it in errors.
func parseFile(path string, data []byte) ([]entry, error) {
	bad := func(format string, args ...any) error {
		return &FileError{Path: path, Why: fmt.Sprintf(format, args...)}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var doc struct {
		Version *int        `json:"version"`
		Tokens  []fileToken `json:"tokens"`
	}
	if err := dec.Decode(&doc); err != nil {
		return nil, bad("not a tokens file: %v", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, bad("data after the JSON document")
	}
	switch {
	case doc.Version == nil:
		return nil, bad("no version")
	case *doc.Version != fileVersion:
		return nil, bad("version %d; this comply reads version %d (is it newer?)", *doc.Version, fileVersion)
	}
	out := make([]entry, 0, len(doc.Tokens))
	seen := make(map[string]bool, len(doc.Tokens))
	for i, t := range doc.Tokens {
		if err := CheckName(t.Name); err != nil {
			return nil, bad("token %d: %v", i, err)
		}
		if seen[t.Name] {
			return nil, bad("token %q twice", t.Name)
		}
		seen[t.Name] = true
		if _, err := ParseRole(string(t.Role)); err != nil {
			return nil, bad("token %q: %v", t.Name, err)
		}
		var e entry
		if len(t.SHA256) != 2*sha256.Size || strings.ToLower(t.SHA256) != t.SHA256 {
			return nil, bad("token %q: sha256 is not 64 lowercase hex digits", t.Name)
		}
		if _, err := hex.Decode(e.hash[:], []byte(t.SHA256)); err != nil {
			return nil, bad("token %q: sha256 is not 64 lowercase hex digits", t.Name)
		}
		e.Token = Token{Name: t.Name, Role: t.Role, Created: t.Created.UTC()}
		if _, err := e.Created.MarshalJSON(); err != nil { // a year past 9999 in UTC
			return nil, bad("token %q: created: %v", t.Name, err)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// encodeFile encodes tokens (sorted by name) as a tokens file.
func encodeFile(tokens []entry) ([]byte, error) {
	doc := fileDoc{Version: fileVersion, Tokens: make([]fileToken, 0, len(tokens))}
	for _, e := range tokens {
		doc.Tokens = append(doc.Tokens, fileToken{
			Name:    e.Name,
			Role:    e.Role,
			Created: e.Created.UTC(),
			SHA256:  hex.EncodeToString(e.hash[:]),
		})
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// hashSecret returns the SHA-256 of secret.
func hashSecret(secret string) [sha256.Size]byte {
	return sha256.Sum256([]byte(secret))
}

// wellFormed reports whether secret looks like one this package makes.
func wellFormed(secret string) bool {
	if len(secret) != secretLen || !strings.HasPrefix(secret, SecretPrefix) {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(secret[len(SecretPrefix):])
	return err == nil
}

// stamp is what tells whether the file changed: its size, modification
// time and inode (a rename gives it a new one).
type stamp struct {
	exists bool
	size   int64
	mtime  time.Time
	ino    uint64
}

// A File is the tokens file: a JSON document listing each token's name,
// role, creation time and the SHA-256 of its secret, replaced atomically
// on every change and kept where the operator says (the CLI decides the
// path). See the package documentation for the format.
//
// All methods may be called concurrently, and by several processes on one
// path: writers serialize on a lock file, and readers see every change
// (Authenticate within ReloadInterval).
type File struct {
	path string
	now  func() time.Time // the clock: time.Now, or a test's

	mu       sync.Mutex
	tokens   []entry   // as last read, sorted by name
	stamp    stamp     // of the file last read
	loaded   bool      // tokens and stamp are set
	lastStat time.Time // when Authenticate last looked at the file
}

var _ Authenticator = (*File)(nil)

// OpenFile opens the tokens file at path and reads it. A missing file
// means no tokens yet, not an error: Create makes it (and its directory,
// mode 0700).
func OpenFile(path string) (*File, error) {
	if path == "" {
		return nil, errors.New("auth: no tokens file path")
	}
	f := &File{path: path, now: time.Now}
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.reloadLocked(); err != nil {
		return nil, err
	}
	return f, nil
}

// Path returns the file's path.
func (f *File) Path() string { return f.path }

// statFile returns the file's stamp; a missing file has exists false.
func statFile(path string) (stamp, os.FileInfo, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return stamp{}, nil, nil
	}
	if err != nil {
		return stamp{}, nil, fmt.Errorf("tokens file %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return stamp{}, nil, &FileError{Path: path, Why: "not a regular file"}
	}
	return stamp{exists: true, size: fi.Size(), mtime: fi.ModTime(), ino: inode(fi)}, fi, nil
}

// checkMode refuses a file its group or others may write.
func checkMode(path string, fi os.FileInfo) error {
	if fi != nil && fi.Mode().Perm()&0o022 != 0 {
		return &FileError{Path: path, Why: fmt.Sprintf("mode %v lets others write it (and mint tokens); run chmod 600 %s", fi.Mode().Perm(), path)}
	}
	return nil
}

// readFile reads and parses the file at path, with its stamp; a missing
// file is no tokens.
func readFile(path string) ([]entry, stamp, error) {
	st, fi, err := statFile(path)
	if err != nil || !st.exists {
		return nil, st, err
	}
	if err := checkMode(path, fi); err != nil {
		return nil, st, err
	}
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, stamp{}, nil
	}
	if err != nil {
		return nil, st, fmt.Errorf("tokens file %s: %w", path, err)
	}
	// The file may have been replaced between Stat and ReadFile: take the
	// stamp again, so that a later change is not missed. If it changed, the
	// next look reads it again, which costs a read, never a stale answer.
	if st2, _, err := statFile(path); err == nil {
		st = st2
	}
	tokens, err := parseFile(path, data)
	if err != nil {
		return nil, st, err
	}
	return tokens, st, nil
}

// reloadLocked re-reads the file if its stamp changed since the last
// read. f.mu is held.
func (f *File) reloadLocked() error {
	st, fi, err := statFile(f.path)
	if err != nil {
		f.loaded = false
		return err
	}
	if f.loaded && st == f.stamp {
		return checkMode(f.path, fi)
	}
	tokens, st, err := readFile(f.path)
	if err != nil {
		f.loaded = false
		return err
	}
	f.tokens, f.stamp, f.loaded = tokens, st, true
	return nil
}

// List returns the tokens on file, sorted by name: never their secrets nor
// their hashes.
func (f *File) List() ([]Token, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.reloadLocked(); err != nil {
		return nil, err
	}
	out := make([]Token, len(f.tokens))
	for i, e := range f.tokens {
		out[i] = e.Token
	}
	return out, nil
}

// Len returns the number of tokens on file now.
func (f *File) Len() (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.reloadLocked(); err != nil {
		return 0, err
	}
	return len(f.tokens), nil
}

// Create adds a token of the given name and role, and returns its secret:
// the only time it is known, since the file keeps only its hash. The name
// must be free (else an error wrapping ErrTokenExists) and valid
// (CheckName).
func (f *File) Create(name string, role Role) (secret string, err error) {
	if err := CheckName(name); err != nil {
		return "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", err
	}
	var raw [secretBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("auth: create token %s: %w", name, err)
	}
	secret = SecretPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	err = f.update(func(tokens []entry) ([]entry, error) {
		if _, found := slices.BinarySearchFunc(tokens, name, func(e entry, n string) int { return strings.Compare(e.Name, n) }); found {
			return nil, fmt.Errorf("create token %s: %w", name, ErrTokenExists)
		}
		e := entry{Token: Token{Name: name, Role: role, Created: f.now().UTC().Truncate(time.Second)}, hash: hashSecret(secret)}
		tokens = append(tokens, e)
		slices.SortFunc(tokens, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
		return tokens, nil
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// Revoke removes the token of that name, or returns an error wrapping
// ErrNoSuchToken. A server reading the same file stops accepting it within
// ReloadInterval.
func (f *File) Revoke(name string) error {
	if err := CheckName(name); err != nil { // no such token; and never echo a pasted secret
		return fmt.Errorf("revoke token: not a token name: %w", ErrNoSuchToken)
	}
	return f.update(func(tokens []entry) ([]entry, error) {
		i := slices.IndexFunc(tokens, func(e entry) bool { return e.Name == name })
		if i < 0 {
			return nil, fmt.Errorf("revoke token %s: %w", name, ErrNoSuchToken)
		}
		return slices.Delete(tokens, i, i+1), nil
	})
}

// update runs change on the tokens read fresh from the file, under the
// file's lock, and writes the result back atomically.
func (f *File) update(change func([]entry) ([]entry, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	dir := filepath.Dir(f.path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tokens file %s: %w", f.path, err)
	}
	unlock, err := lockFile(f.path + ".lock")
	if err != nil {
		return fmt.Errorf("tokens file %s: lock: %w", f.path, err)
	}
	defer unlock()
	tokens, _, err := readFile(f.path)
	if err != nil {
		return err
	}
	tokens, err = change(tokens)
	if err != nil {
		return err
	}
	data, err := encodeFile(tokens)
	if err == nil {
		err = atomicfile.Write(f.path, data)
	}
	if err != nil {
		return fmt.Errorf("tokens file %s: %w", f.path, err)
	}
	st, _, err := statFile(f.path)
	if err != nil {
		f.loaded = false
		return err
	}
	f.tokens, f.stamp, f.loaded = tokens, st, true
	return nil
}

// Authenticate returns the token whose secret it is, or an error wrapping
// ErrUnknownToken (a malformed secret, no such token, or a revoked one).
// The secret is compared, by its SHA-256, with every token's in constant
// time: the time taken depends on the number of tokens, not on the secret.
// It re-reads the file when it changed, looking at most once per
// ReloadInterval. If the file cannot be read or is invalid it returns that
// error, which does not wrap ErrUnknownToken: the caller should refuse the
// request as a server error.
func (f *File) Authenticate(ctx context.Context, secret string) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	f.mu.Lock()
	if now := f.now(); !f.loaded || now.Sub(f.lastStat) >= ReloadInterval || now.Before(f.lastStat) {
		f.lastStat = now
		if err := f.reloadLocked(); err != nil {
			f.mu.Unlock()
			return Token{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	tokens := f.tokens // never modified in place: update and reload replace it
	f.mu.Unlock()

	if !wellFormed(secret) {
		return Token{}, ErrUnknownToken
	}
	h := hashSecret(secret)
	found, index := 0, 0
	for i := range tokens {
		eq := subtle.ConstantTimeCompare(h[:], tokens[i].hash[:])
		index = subtle.ConstantTimeSelect(eq, i, index)
		found |= eq
	}
	if found != 1 {
		return Token{}, ErrUnknownToken
	}
	return tokens[index].Token, nil
}
