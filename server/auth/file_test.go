package auth

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fakeClock is a clock a test moves by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func openTemp(t *testing.T) (*File, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "tokens.json")
	f, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f, path
}

func TestCreateListAuthenticateRevoke(t *testing.T) {
	f, path := openTemp(t)
	if n, err := f.Len(); err != nil || n != 0 {
		t.Fatalf("Len of a missing file = %d, %v; want 0, nil", n, err)
	}
	tests := []struct {
		name string
		role Role
	}{
		{"zeta", Ingest},
		{"alpha", Read},
		{"m.i_d-1", Decrypt},
		{strings.Repeat("x", 64), Admin},
	}
	secrets := map[string]string{}
	for _, tt := range tests {
		secret, err := f.Create(tt.name, tt.role)
		if err != nil {
			t.Fatalf("Create(%s): %v", tt.name, err)
		}
		if !strings.HasPrefix(secret, SecretPrefix) || len(secret) != secretLen || !wellFormed(secret) {
			t.Fatalf("Create(%s) = a secret of the wrong form (len %d)", tt.name, len(secret))
		}
		secrets[tt.name] = secret
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, secret := range secrets {
		if bytes.Contains(data, []byte(secret)) || bytes.Contains(data, []byte(secret[len(SecretPrefix):])) {
			t.Errorf("the file holds the secret of %s", name)
		}
	}

	list, err := f.List()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alpha", "m.i_d-1", strings.Repeat("x", 64), "zeta"}
	if len(list) != len(want) {
		t.Fatalf("List = %d tokens, want %d", len(list), len(want))
	}
	for i, tok := range list {
		if tok.Name != want[i] {
			t.Errorf("List[%d] = %s, want %s (sorted by name)", i, tok.Name, want[i])
		}
		if tok.Created.IsZero() || tok.Created.Location() != time.UTC {
			t.Errorf("List[%d].Created = %v, want a UTC time", i, tok.Created)
		}
	}

	for _, tt := range tests {
		tok, err := f.Authenticate(t.Context(), secrets[tt.name])
		if err != nil || tok.Name != tt.name || tok.Role != tt.role {
			t.Errorf("Authenticate(secret of %s) = %+v, %v", tt.name, tok, err)
		}
	}

	if err := f.Revoke("alpha"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Authenticate(t.Context(), secrets["alpha"]); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("Authenticate(revoked) = %v, want ErrUnknownToken at once in the revoking File", err)
	}
	if n, err := f.Len(); err != nil || n != 3 {
		t.Errorf("Len after a revoke = %d, %v; want 3", n, err)
	}
	// Another File value reads the same state.
	g, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := g.Authenticate(t.Context(), secrets["zeta"]); err != nil || tok.Role != Ingest {
		t.Errorf("second File: Authenticate(zeta) = %+v, %v", tok, err)
	}
}

func TestFileModes(t *testing.T) {
	f, path := openTemp(t)
	if _, err := f.Create("a", Read); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{path, 0o600}, {filepath.Dir(path), 0o700}, {path + ".lock", 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != c.want {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode().Perm(), c.want)
		}
	}
	if _, err := os.Stat(path + ".tmp"); err == nil {
		t.Errorf("the temporary file was left behind")
	}

	tests := []struct {
		mode    os.FileMode
		refused bool
	}{
		{0o600, false},
		{0o640, false}, // readable: only hashes of random secrets
		{0o644, false},
		{0o620, true}, // group-writable: anyone in the group could mint a token
		{0o602, true},
		{0o666, true},
	}
	for _, tt := range tests {
		t.Run(tt.mode.String(), func(t *testing.T) {
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			_, err := OpenFile(path)
			var fe *FileError
			if got := errors.As(err, &fe); got != tt.refused {
				t.Errorf("OpenFile with mode %v: %v; refused = %v, want %v", tt.mode, err, got, tt.refused)
			}
			if tt.refused && !strings.Contains(err.Error(), "chmod 600") {
				t.Errorf("error %q gives no hint", err)
			}
		})
	}
	// A write puts the file back to 0600.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Create("b", Read); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("after Create: mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestCreateErrors(t *testing.T) {
	f, _ := openTemp(t)
	if _, err := f.Create("taken", Read); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		role    Role
		wantErr error // nil: any error
	}{
		{"", Read, nil},
		{strings.Repeat("x", 65), Read, nil},
		{"has space", Read, nil},
		{"slash/no", Read, nil},
		{"ünïcode", Read, nil},
		{"ok", "root", nil},
		{"ok", "", nil},
		{"taken", Admin, ErrTokenExists},
		{"cmp_abc", Read, nil}, // looks like a secret
	}
	for _, tt := range tests {
		t.Run(tt.name+"/"+string(tt.role), func(t *testing.T) {
			secret, err := f.Create(tt.name, tt.role)
			if err == nil || secret != "" {
				t.Fatalf("Create(%q, %q) = %q, %v; want an error and no secret", tt.name, tt.role, secret, err)
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Create(%q) = %v, want %v", tt.name, err, tt.wantErr)
			}
		})
	}
	if n, _ := f.Len(); n != 1 {
		t.Errorf("Len = %d after failed creates, want 1", n)
	}
}

func TestRevokeUnknown(t *testing.T) {
	f, path := openTemp(t)
	for _, name := range []string{"nobody", "", "a b"} {
		if err := f.Revoke(name); !errors.Is(err, ErrNoSuchToken) {
			t.Errorf("Revoke(%q) = %v, want ErrNoSuchToken", name, err)
		}
	}
	if _, err := os.Stat(path); err == nil {
		t.Errorf("a failed Revoke wrote the file")
	}
}

func TestAuthenticateUnknown(t *testing.T) {
	f, _ := openTemp(t)
	good, err := f.Create("good", Admin)
	if err != nil {
		t.Fatal(err)
	}
	other := SecretPrefix + strings.Repeat("A", secretLen-len(SecretPrefix))
	if !wellFormed(other) {
		t.Fatal("the unknown secret of the test is malformed")
	}
	tests := []struct {
		name, secret string
	}{
		{"empty", ""},
		{"prefix only", SecretPrefix},
		{"no prefix", good[len(SecretPrefix):]},
		{"wrong prefix", "xyz_" + good[len(SecretPrefix):]},
		{"one short", good[:len(good)-1]},
		{"one long", good + "A"},
		{"padding", good[:len(good)-1] + "="},
		{"not base64url", good[:len(good)-1] + "+"},
		{"space", " " + good},
		{"well formed, unknown", other},
		{"bearer included", "Bearer " + good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := f.Authenticate(t.Context(), tt.secret)
			if !errors.Is(err, ErrUnknownToken) || tok != (Token{}) {
				t.Fatalf("Authenticate = %+v, %v; want ErrUnknownToken", tok, err)
			}
			if tt.secret != "" && strings.Contains(err.Error(), tt.secret) {
				t.Errorf("the error %q holds the secret", err)
			}
		})
	}
}

// TestConstantTimeScan puts the right hash among near misses (hashes that
// differ from it only in the last byte, or only in the first) at every
// position: the scan must find it wherever it is, and never take a near
// miss for it, which an early exit on a matching prefix would.
func TestConstantTimeScan(t *testing.T) {
	secret := SecretPrefix + strings.Repeat("b", secretLen-len(SecretPrefix)-1) + "A"
	h := hashSecret(secret)
	fixed := time.Now()
	const n = 9
	for pos := range n {
		t.Run(fmt.Sprint(pos), func(t *testing.T) {
			f := &File{path: filepath.Join(t.TempDir(), "none.json"), now: func() time.Time { return fixed }, loaded: true, lastStat: fixed}
			for i := range n {
				e := entry{Token: Token{Name: fmt.Sprintf("t%d", i), Role: Read}, hash: h}
				switch {
				case i == pos:
					e.Role = Admin
				case i%2 == 0:
					e.hash[sha256.Size-1] ^= byte(i + 1)
				default:
					e.hash[0] ^= byte(i + 1)
				}
				f.tokens = append(f.tokens, e)
			}
			tok, err := f.Authenticate(t.Context(), secret)
			if err != nil || tok.Name != fmt.Sprintf("t%d", pos) || tok.Role != Admin {
				t.Errorf("Authenticate = %+v, %v; want t%d", tok, err, pos)
			}
			f.tokens = append(f.tokens[:pos], f.tokens[pos+1:]...)
			if _, err := f.Authenticate(t.Context(), secret); !errors.Is(err, ErrUnknownToken) {
				t.Errorf("with only near misses: %v, want ErrUnknownToken", err)
			}
		})
	}
}

// TestRevokeSeenByAnotherFile revokes through one File and polls another,
// as a running server would see 'comply token revoke' from another
// process: the revocation must take effect within the reload window.
func TestRevokeSeenByAnotherFile(t *testing.T) {
	admin, path := openTemp(t)
	secret, err := admin.Create("ci", Ingest)
	if err != nil {
		t.Fatal(err)
	}
	server, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Authenticate(t.Context(), secret); err != nil {
		t.Fatalf("before revoke: %v", err)
	}
	if err := admin.Revoke("ci"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	deadline := start.Add(ReloadInterval + 2*time.Second) // the window, and slack for a loaded machine
	for {
		_, err := server.Authenticate(t.Context(), secret)
		if errors.Is(err, ErrUnknownToken) {
			break
		}
		if err != nil {
			t.Fatalf("Authenticate: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revoked token still works after %v", time.Since(start))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("revocation seen after %v", time.Since(start))
	// A token created meanwhile is seen the same way.
	clock := &fakeClock{t: time.Now()}
	server.mu.Lock()
	server.now = clock.now
	server.mu.Unlock()
	fresh, err := admin.Create("ci2", Read)
	if err != nil {
		t.Fatal(err)
	}
	clock.add(ReloadInterval)
	if tok, err := server.Authenticate(t.Context(), fresh); err != nil || tok.Name != "ci2" {
		t.Errorf("new token after the window: %+v, %v", tok, err)
	}
}

// TestReloadThrottled checks that Authenticate looks at the file at most
// once per ReloadInterval, and fails closed when the file turns bad.
func TestReloadThrottled(t *testing.T) {
	f, path := openTemp(t)
	secret, err := f.Create("a", Read)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{t: time.Now()}
	f.now = clock.now
	if _, err := f.Authenticate(t.Context(), secret); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	clock.add(ReloadInterval / 2)
	if _, err := f.Authenticate(t.Context(), secret); err != nil {
		t.Errorf("within the window the file was looked at again: %v", err)
	}
	clock.add(ReloadInterval)
	_, err = f.Authenticate(t.Context(), secret)
	var fe *FileError
	if !errors.As(err, &fe) || errors.Is(err, ErrUnknownToken) {
		t.Errorf("after the window, a bad file: %v; want a *FileError, not ErrUnknownToken (fail closed)", err)
	}
	// Removing the file revokes everything.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clock.add(ReloadInterval)
	if _, err := f.Authenticate(t.Context(), secret); !errors.Is(err, ErrUnknownToken) {
		t.Errorf("after removing the file: %v, want ErrUnknownToken", err)
	}
}

func TestConcurrentWriters(t *testing.T) {
	_, path := openTemp(t)
	const writers, each = 6, 5
	var wg sync.WaitGroup
	secrets := make([][]string, writers)
	errs := make(chan error, writers*each*2)
	reader, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		wg.Go(func() {
			f, err := OpenFile(path) // one File per writer, as separate processes would have
			if err != nil {
				errs <- err
				return
			}
			for i := range each {
				s, err := f.Create(fmt.Sprintf("w%d-%d", w, i), Ingest)
				if err != nil {
					errs <- err
					return
				}
				secrets[w] = append(secrets[w], s)
				if _, err := reader.Authenticate(t.Context(), s); err != nil && !errors.Is(err, ErrUnknownToken) {
					errs <- err
				}
				if _, err := reader.List(); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n, err := reader.Len()
	if err != nil || n != writers*each {
		t.Fatalf("Len = %d, %v; want %d: a concurrent write was lost", n, err, writers*each)
	}
	// Concurrent revokes of distinct names, all kept.
	for w := range writers {
		wg.Go(func() {
			f, err := OpenFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			if err := f.Revoke(fmt.Sprintf("w%d-0", w)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n, err := reader.Len(); err != nil || n != writers*(each-1) {
		t.Errorf("Len after revokes = %d, %v; want %d", n, err, writers*(each-1))
	}
}

func mustEncode(t *testing.T, tokens []entry) []byte {
	t.Helper()
	b, err := encodeFile(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// goldenTokens are the tokens of testdata/tokens.golden.json.
func goldenTokens() []entry {
	return []entry{
		{Token: Token{Name: "auditor", Role: Read, Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}, hash: sha256.Sum256([]byte("auditor"))},
		{Token: Token{Name: "ci.ingest", Role: Ingest, Created: time.Date(2026, 1, 2, 3, 4, 6, 0, time.UTC)}, hash: sha256.Sum256([]byte("ci"))},
		{Token: Token{Name: "ops_admin-1", Role: Admin, Created: time.Date(2026, 2, 3, 4, 5, 6, 0, time.UTC)}, hash: sha256.Sum256([]byte("ops"))},
	}
}

// TestGoldenFormat pins the tokens file byte for byte: a change to the
// format must be deliberate (and bump the version).
func TestGoldenFormat(t *testing.T) {
	golden := filepath.Join("testdata", "tokens.golden.json")
	got := mustEncode(t, goldenTokens())
	if *update {
		if err := os.WriteFile(golden, got, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("encoded tokens file differs from %s:\n%s\nwant:\n%s", golden, got, want)
	}
	parsed, err := parseFile(golden, want)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(parsed) != fmt.Sprint(goldenTokens()) {
		t.Errorf("parsed %v, want %v", parsed, goldenTokens())
	}
	// An empty file after the last revoke has an empty list, not null.
	if got := string(mustEncode(t, nil)); got != "{\n  \"version\": 1,\n  \"tokens\": []\n}\n" {
		t.Errorf("encodeFile(nil) = %q", got)
	}
}

func TestParseFileErrors(t *testing.T) {
	h := strings.Repeat("ab", 32)
	tok := func(name, role, sha string) string {
		return fmt.Sprintf(`{"name":%q,"role":%q,"created":"2026-01-02T03:04:05Z","sha256":%q}`, name, role, sha)
	}
	tests := []struct {
		name, data string
	}{
		{"empty", ""},
		{"not json", "tokens"},
		{"array", "[]"},
		{"no version", `{"tokens":[]}`},
		{"version 2", `{"version":2,"tokens":[]}`},
		{"version 0", `{"version":0,"tokens":[]}`},
		{"unknown field", `{"version":1,"tokens":[],"extra":1}`},
		{"unknown token field", `{"version":1,"tokens":[{"name":"a","role":"read","created":"2026-01-02T03:04:05Z","sha256":"` + h + `","secret":"x"}]}`},
		{"trailing data", `{"version":1,"tokens":[]} {}`},
		{"bad name", `{"version":1,"tokens":[` + tok("a b", "read", h) + `]}`},
		{"empty name", `{"version":1,"tokens":[` + tok("", "read", h) + `]}`},
		{"bad role", `{"version":1,"tokens":[` + tok("a", "root", h) + `]}`},
		{"uppercase hash", `{"version":1,"tokens":[` + tok("a", "read", strings.ToUpper(h)) + `]}`},
		{"short hash", `{"version":1,"tokens":[` + tok("a", "read", h[:62]) + `]}`},
		{"not hex", `{"version":1,"tokens":[` + tok("a", "read", "zz"+h[2:]) + `]}`},
		{"twice", `{"version":1,"tokens":[` + tok("a", "read", h) + `,` + tok("a", "admin", h) + `]}`},
		{"past 9999 in UTC", `{"version":1,"tokens":[{"name":"a","role":"read","created":"9999-12-31T23:59:59-23:59","sha256":"` + h + `"}]}`},
		{"bad time", `{"version":1,"tokens":[{"name":"a","role":"read","created":"yesterday","sha256":"` + h + `"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseFile("tokens.json", []byte(tt.data))
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("parseFile = %v, want a *FileError", err)
			}
			path := filepath.Join(t.TempDir(), "tokens.json")
			if err := os.WriteFile(path, []byte(tt.data), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := OpenFile(path); !errors.As(err, &fe) || fe.Path != path {
				t.Errorf("OpenFile = %v, want a *FileError naming the path", err)
			}
		})
	}
	// Unsorted on disk is accepted and read sorted.
	got, err := parseFile("t", []byte(`{"version":1,"tokens":[`+tok("b", "read", h)+`,`+tok("a", "admin", h)+`]}`))
	if err != nil || len(got) != 2 || got[0].Name != "a" {
		t.Errorf("unsorted file: %v, %v", got, err)
	}
}

// FuzzParseFile checks that the parser never panics, and that whatever it
// accepts encodes to a file it reads back the same.
func FuzzParseFile(f *testing.F) {
	golden, err := os.ReadFile(filepath.Join("testdata", "tokens.golden.json"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(golden)
	f.Add([]byte(`{"version":1,"tokens":[]}`))
	f.Add([]byte(`{"version":1,"tokens":null}`))
	f.Add([]byte(`{"version":2}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		tokens, err := parseFile("fuzz", data)
		if err != nil {
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("error %v is not a *FileError", err)
			}
			return
		}
		enc := mustEncode(t, tokens)
		again, err := parseFile("fuzz", enc)
		if err != nil {
			t.Fatalf("re-reading the encoding: %v\n%s", err, enc)
		}
		if !bytes.Equal(mustEncode(t, again), enc) {
			t.Fatalf("encoding not stable:\n%s\n%s", enc, mustEncode(t, again))
		}
	})
}
