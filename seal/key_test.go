package seal

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestGenerateKey(t *testing.T) {
	a, b := mustGenerate(t), mustGenerate(t)
	if a.IsZero() || b.IsZero() {
		t.Fatal("GenerateKey returned the zero Key")
	}
	if a.Encode() == b.Encode() {
		t.Fatal("two generated keys are equal")
	}
	if len(a.Encode()) != 44 {
		t.Fatalf("Encode() is %d characters, want 44", len(a.Encode()))
	}
	back, err := ParseKey(a.Encode())
	if err != nil {
		t.Fatal(err)
	}
	if back.Encode() != a.Encode() {
		t.Fatal("ParseKey(k.Encode()) differs from k")
	}
	if (Key{}).Encode() != "" || !(Key{}).IsZero() {
		t.Error("zero Key: Encode() not empty or IsZero() false")
	}
}

func TestParseKey(t *testing.T) {
	good := "Ew1ybnQk2uJfke6yprKAGLdRyZCTsC18fhL7t-tKrWE="
	tests := []struct {
		name string
		in   string
		ok   bool
		want string // part of the error message
	}{
		{"seed key", good, true, ""},
		{"surrounding whitespace", "  " + good + "\r\n", true, ""},
		{"non-canonical last bits, as Python accepts", good[:42] + "F=", true, ""},
		{"empty", "", false, "empty"},
		{"blank", " \t\n", false, "empty"},
		{"too short", good[:43], false, "43 characters long, want 44"},
		{"missing padding", good[:43] + "A", false, "padding"},
		{"too long", good + "=", false, "45 characters long"},
		{"two keys", good + "," + good, false, "89 characters long"},
		{"standard alphabet", strings.Replace(good, "-", "+", 1), false, "standard base64 alphabet"},
		{"slash", "/" + good[1:], false, "standard base64 alphabet"},
		{"invalid character", "*" + good[1:], false, "position 1 is not urlsafe base64"},
		{"inner space", good[:10] + " " + good[11:], false, "position 11"},
		{"non-ASCII", "é" + good[2:], false, "not urlsafe base64"},
		{"NUL", "\x00" + good[1:], false, "position 1"},
		{"hex, not base64", strings.Repeat("ab", 32), false, "64 characters long"},
		{"all zero", base64.URLEncoding.EncodeToString(make([]byte, 32)), false, "zero bytes"},
		{"16 bytes", base64.URLEncoding.EncodeToString(make([]byte, 16)), false, "24 characters long"},
		{"padding in the middle", good[:20] + "=" + good[21:], false, "position 21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatal(err)
				}
				if k.IsZero() {
					t.Fatal("zero Key")
				}
				return
			}
			if !errors.Is(err, ErrInvalidKey) {
				t.Fatalf("error = %v, want ErrInvalidKey", err)
			}
			if !k.IsZero() {
				t.Error("non-zero Key with an error")
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) || strings.Contains(msg, "hint") {
				t.Errorf("error %q lacks %q or gives advice", msg, tt.want)
			}
			if len(tt.in) >= 8 && strings.Contains(msg, strings.TrimSpace(tt.in)[:8]) {
				t.Errorf("error quotes the input: %q", msg)
			}
		})
	}
}

func TestKeyRedaction(t *testing.T) {
	k := mustGenerate(t)
	ring := NewKeyring(k, mustGenerate(t))
	type config struct {
		Name   string
		Key    Key
		secret Key
		ring   *Keyring
		Ring   *Keyring
	}
	c := config{Name: "x", Key: k, secret: k, ring: ring, Ring: ring}
	var outputs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o", "%b", "%10.3v"} {
		outputs = append(outputs,
			fmt.Sprintf(verb, k), fmt.Sprintf(verb, &k), fmt.Sprintf(verb, []Key{k}),
			fmt.Sprintf(verb, c), fmt.Sprintf(verb, &c), fmt.Sprintf(verb, ring),
			fmt.Sprintf(verb, map[string]Key{"k": k}))
	}
	outputs = append(outputs, fmt.Sprint(k), fmt.Sprintln(k, c), k.String(), k.GoString(), ring.String())
	var logged bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&logged, nil))
	logger.Info("loaded", "key", k, "ring", ring, "config", c)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("loaded", "key", k, "ring", ring)
	outputs = append(outputs, logged.String())
	for _, out := range outputs {
		checkNoSecrets(t, out, k)
	}
	if got := fmt.Sprintf("%v|%+v|%#v|%s", k, k, k, k); got != "seal.Key(REDACTED)|seal.Key(REDACTED)|seal.Key{REDACTED}|seal.Key(REDACTED)" {
		t.Errorf("formatted Key = %s", got)
	}
	if got := fmt.Sprintf("%v|%#v", Key{}, Key{}); got != "seal.Key(none)|seal.Key{}" {
		t.Errorf("formatted zero Key = %s", got)
	}
	if got := ring.String(); got != "seal.Keyring(2 keys, REDACTED)" {
		t.Errorf("ring.String() = %s", got)
	}
	if !strings.Contains(logged.String(), `"key":"seal.Key(REDACTED)"`) {
		t.Errorf("slog output lacks the redacted key: %s", logged.String())
	}
}

func TestParseKeyring(t *testing.T) {
	a, b, c := mustGenerate(t), mustGenerate(t), mustGenerate(t)
	A, B, C := a.Encode(), b.Encode(), c.Encode()
	tests := []struct {
		name string
		in   string
		want []string // encodings, primary first
		err  error
		msg  string
	}{
		{"one key", A, []string{A}, nil, ""},
		{"one key with newline", A + "\n", []string{A}, nil, ""},
		{"commas", A + "," + B + "," + C, []string{A, B, C}, nil, ""},
		{"comma and spaces", A + ", " + B + " ,\t" + C, []string{A, B, C}, nil, ""},
		{"lines", A + "\n" + B + "\r\n" + C + "\n", []string{A, B, C}, nil, ""},
		{"comments and blank lines", "# keyring\n\n" + A + "\n   # old keys:\n" + B + "  # retired 2026-01\n\n", []string{A, B}, nil, ""},
		{"duplicates dropped", A + "," + B + "," + A + "," + B, []string{A, B}, nil, ""},
		{"trailing comma", A + ",", []string{A}, nil, ""},
		{"empty", "", nil, ErrNoKey, "holds no key"},
		{"only comments", "# " + A + "\n#\n", nil, ErrNoKey, "holds no key"},
		{"only separators", " , \n,", nil, ErrNoKey, "holds no key"},
		{"bad second key", A + "," + B[:40], nil, ErrInvalidKey, "key 2 (line 1)"},
		{"bad key on line 3", "# c\n" + A + "\n" + "not-a-key\n", nil, ErrInvalidKey, "key 2 (line 3)"},
		{"key=value syntax", EnvKey + "=" + A, nil, ErrInvalidKey, "key 1 (line 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ParseKeyring(tt.in)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("error %q lacks %q", err, tt.msg)
				}
				for _, k := range []Key{a, b, c} {
					checkNoSecrets(t, err.Error(), k)
				}
				if strings.Contains(err.Error(), B[:30]) {
					t.Errorf("error quotes a key: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Len() != len(tt.want) {
				t.Fatalf("Len() = %d, want %d", r.Len(), len(tt.want))
			}
			for i, w := range tt.want {
				if r.keys[i].Encode() != w {
					t.Errorf("key %d differs", i)
				}
			}
			if r.Primary().Encode() != tt.want[0] {
				t.Error("Primary() is not the first key")
			}
		})
	}
}

func TestNewKeyring(t *testing.T) {
	a, b := mustGenerate(t), mustGenerate(t)
	r := NewKeyring(a, Key{}, b, a, Key{}, b)
	if r.Len() != 2 || r.keys[1].Encode() != b.Encode() {
		t.Errorf("NewKeyring(a, 0, b, a, 0, b) has %d keys, want a and b", r.Len())
	}
	// A copy of a parsed key and a re-parsed key are both duplicates.
	a2, _ := ParseKey(a.Encode())
	if r := NewKeyring(a, a2); r.Len() != 1 {
		t.Errorf("re-parsed primary not dropped: Len() = %d", r.Len())
	}
	// The caller's slice is not retained.
	older := []Key{b}
	r = NewKeyring(a, older...)
	older[0] = Key{}
	if r.keys[1].IsZero() {
		t.Error("NewKeyring retained the caller's slice")
	}
}

func TestKeyringFromEnv(t *testing.T) {
	a, b := mustGenerate(t), mustGenerate(t)
	tests := []struct {
		name  string
		value string
		unset bool
		want  int
		err   error
	}{
		{"unset", "", true, 0, ErrNoKey},
		{"empty", "", false, 0, ErrNoKey},
		{"blank", "  \n", false, 0, ErrNoKey},
		{"one key", a.Encode(), false, 1, nil},
		{"one key, newline", a.Encode() + "\n", false, 1, nil},
		{"two keys", a.Encode() + "," + b.Encode(), false, 2, nil},
		{"quoted", `"` + a.Encode() + `"`, false, 0, ErrInvalidKey},
		{"truncated", a.Encode()[:30], false, 0, ErrInvalidKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(EnvKey, tt.value)
			if tt.unset {
				os.Unsetenv(EnvKey)
			}
			r, err := KeyringFromEnv()
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				msg := err.Error()
				if !strings.Contains(msg, EnvKey) {
					t.Errorf("error does not name %s: %s", EnvKey, msg)
				}
				if strings.Contains(msg, "hint") || strings.Contains(msg, "comply keygen") {
					t.Errorf("error gives CLI advice: %s", msg)
				}
				checkNoSecrets(t, msg, a)
				if strings.Contains(msg, a.Encode()[:20]) {
					t.Errorf("error quotes the key: %s", msg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Len() != tt.want || r.Primary().Encode() != a.Encode() {
				t.Errorf("Len() = %d, want %d; or wrong primary", r.Len(), tt.want)
			}
		})
	}
}

func TestLoadKeyring(t *testing.T) {
	a, b := mustGenerate(t), mustGenerate(t)
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // umask may have cleared bits
			t.Fatal(err)
		}
		return p
	}
	good := write("good.key", "# comply keyring\n"+a.Encode()+"\n"+b.Encode()+"\n", 0o600)
	r, err := LoadKeyring(good)
	if err != nil {
		t.Fatal(err)
	}
	if r.Len() != 2 || r.Primary().Encode() != a.Encode() {
		t.Fatalf("loaded %d keys, want 2 with a first", r.Len())
	}
	if r, err := LoadKeyring(write("readonly.key", a.Encode(), 0o400)); err != nil || r.Len() != 1 {
		t.Fatalf("mode 0400: %v", err)
	}

	type failure struct {
		name string
		path string
		err  error       // nil: any error
		msg  string      // in the message
		mode os.FileMode // the Mode of a *KeyFileModeError; 0: not one
	}
	failures := []failure{
		{"missing", filepath.Join(dir, "missing.key"), os.ErrNotExist, "missing.key", 0},
		{"directory", dir, nil, "not a regular file", 0},
		{"empty", write("empty.key", "", 0o600), ErrNoKey, "empty.key", 0},
		{"comments only", write("comments.key", "# nothing\n", 0o600), ErrNoKey, "comments.key", 0},
		{"bad key", write("bad.key", a.Encode()+"\n"+b.Encode()[:43]+"\n", 0o600), ErrInvalidKey, "bad.key: invalid encryption key: key 2 (line 2)", 0},
		{"huge", write("huge.key", strings.Repeat("#", maxKeyFileSize+1), 0o600), nil, "too large", 0},
	}
	if runtime.GOOS != "windows" {
		failures = append(failures,
			failure{"world readable", write("world.key", a.Encode(), 0o644), nil, filepath.Join(dir, "world.key") + " has mode 0644", 0o644},
			failure{"group readable", write("group.key", a.Encode(), 0o640), nil, "mode 0640", 0o640},
			failure{"other writable", write("otherw.key", a.Encode(), 0o602), nil, "mode 0602", 0o602},
		)
	}
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			r, err := LoadKeyring(f.path)
			if err == nil {
				t.Fatalf("loaded %d keys, want an error", r.Len())
			}
			if f.err != nil && !errors.Is(err, f.err) {
				t.Errorf("error = %v, want %v", err, f.err)
			}
			msg := err.Error()
			if !strings.Contains(msg, f.msg) {
				t.Errorf("error %q lacks %q", msg, f.msg)
			}
			var me *KeyFileModeError
			if got := errors.As(err, &me); got != (f.mode != 0) || got && (me.Path != f.path || me.Mode != f.mode) {
				t.Errorf("error %v: KeyFileModeError %v, want one with mode %04o", err, me, f.mode)
			}
			checkNoSecrets(t, msg, a)
			checkNoSecrets(t, msg, b)
			if strings.Contains(msg, a.Encode()[:20]) || strings.Contains(msg, b.Encode()[:20]) {
				t.Errorf("error quotes the file: %s", msg)
			}
		})
	}
}

func TestSharedSigningHalf(t *testing.T) {
	raw := make([]byte, 32)
	for i := range raw {
		raw[i] = byte(i + 1)
	}
	a, _ := ParseKey(base64.URLEncoding.EncodeToString(raw))
	raw[31] ^= 0xff // same signing half, different encryption half
	b, _ := ParseKey(base64.URLEncoding.EncodeToString(raw))

	_, err := ParseKeyring(a.Encode() + "\n" + b.Encode())
	if !errors.Is(err, ErrInvalidKey) || !errors.Is(err, ErrSharedSigningKey) || !strings.Contains(err.Error(), "keys 1 and 2") {
		t.Errorf("ParseKeyring of keys sharing a signing half: %v, want ErrInvalidKey and ErrSharedSigningKey naming keys 1 and 2", err)
	}

	// NewKeyring accepts them; Decrypt goes on past the first key whose
	// MAC matches when its padding check fails.
	stored := encryptString(b.mat(), 1_700_000_000, make([]byte, 16), []byte("under b"))
	got, err := NewKeyring(a, b).Decrypt(stored)
	if err != nil || string(got) != "under b" {
		t.Errorf("Decrypt = %q, %v; want \"under b\"", got, err)
	}
}
