package main

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionText(t *testing.T) {
	for _, tt := range []struct {
		name string
		bi   *debug.BuildInfo
		want string
	}{
		{"no build info", nil, "comply (devel)\n"},
		{"go run in a test", &debug.BuildInfo{GoVersion: "go1.26.0"}, "comply (devel)\ngo:       go1.26.0\n"},
		{"work tree build", &debug.BuildInfo{
			GoVersion: "go1.26.0",
			Main:      debug.Module{Path: "github.com/complyhq/comply", Version: "(devel)"},
			Settings: []debug.BuildSetting{
				{Key: "vcs", Value: "git"},
				{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
				{Key: "vcs.time", Value: "2026-11-30T12:00:00Z"},
				{Key: "vcs.modified", Value: "true"},
			},
		}, "comply (devel)\nrevision: 0123456789abcdef0123456789abcdef01234567\ntime:     2026-11-30T12:00:00Z\nmodified: true\ngo:       go1.26.0\n"},
		{"go install @version", &debug.BuildInfo{
			GoVersion: "go1.26.0",
			Main:      debug.Module{Path: "github.com/complyhq/comply", Version: "v1.2.3"},
		}, "comply v1.2.3\ngo:       go1.26.0\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := versionText(tt.bi); got != tt.want {
				t.Errorf("versionText = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSuggest(t *testing.T) {
	names := []string{"query", "count", "log", "get", "since", "store", "metadata", "seal", "stats"}
	for _, tt := range []struct{ in, want string }{
		{"qeury", "query"},  // transposition
		{"querry", "query"}, // insertion
		{"sinse", "since"},  // substitution
		{"lg", "log"},       // deletion, short name
		{"metdata", "metadata"},
		{"QUERY", "query"}, // case
		{"frobnicate", ""}, // nothing near
		{"x", ""},          // too short to guess
		{"gte", "get"},
		{"sael", "seal"},
	} {
		if got := suggest(tt.in, names); got != tt.want {
			t.Errorf("suggest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{"", "", 0},
		{"abc", "abc", 0},
		{"", "abc", 3},
		{"ab", "ba", 1},
		{"kitten", "sitting", 3},
		{"qeury", "query", 1},
	} {
		if got := editDistance(tt.a, tt.b); got != tt.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestInitStoreModes checks that init creates the store and its sidecar
// directory owner-only, and changes nothing on a second run.
func TestInitStoreModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "store")
	for i, want := range [][2]bool{{true, true}, {false, false}} {
		d, s, err := initStore(dir)
		if err != nil {
			t.Fatal(err)
		}
		if d != want[0] || s != want[1] {
			t.Errorf("run %d: created dir, sidecar = %v, %v; want %v, %v", i+1, d, s, want[0], want[1])
		}
	}
	for _, p := range []string{dir, filepath.Join(dir, sidecarDir)} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm() &^ 0o022; got != 0o700 { // a umask may only remove bits
			t.Errorf("%s: mode %o, want 700", p, fi.Mode().Perm())
		}
	}
}

// TestWriteHashKey checks the hash key file: mode 600, 64 hex characters
// and a newline, loadable as the key, never overwritten.
func TestWriteHashKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.key")
	var stdout bytes.Buffer
	c := &cli{stdout: &stdout, stderr: &bytes.Buffer{}}
	if err := c.writeHashKey(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %o, want 600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	if len(b) != 65 || b[64] != '\n' || strings.Trim(string(b[:64]), "0123456789abcdef") != "" {
		t.Errorf("key file holds %d bytes, want 64 hex characters and a newline", len(b))
	}
	key, err := loadHashKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(key) != string(b[:64]) {
		t.Error("loadHashKey does not return the file's contents without the newline")
	}
	if strings.Contains(stdout.String(), string(b[:64])) {
		t.Error("keygen --hash printed the key")
	}
	if err := c.writeHashKey(path); err == nil {
		t.Error("writeHashKey overwrote an existing key")
	}
	if b2, _ := os.ReadFile(path); !bytes.Equal(b, b2) {
		t.Error("the existing key changed")
	}
}
