package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogPolicyFlag: comply log applies --policy: level none logs nothing
// and says so, reject refuses, a level the keys cannot give is refused
// before anything is written, and a bad file is an error naming its line.
func TestLogPolicyFlag(t *testing.T) {
	t.Setenv("COMPLY_STORE", "")
	t.Setenv("COMPLY_SIGNING_KEY", "")
	t.Setenv("COMPLY_HASH_KEY_FILE", "")
	t.Setenv("AUDIT_ENCRYPTION_KEY", "")
	dir := t.TempDir()
	pol := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(pol, []byte(`
default: {require: [user_id], missing: reject}
rules:
  - {name: quiet, match: {provider: quiet}, level: none, require: []}
  - {name: keyed, match: {provider: keyed}, level: keyed-hash}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("default:\n  levle: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "audit")
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"bad file", []string{"--policy", bad, "--input", "x"}, 1, "", "line 2: unknown key levle"},
		{"keyed-hash without a key", []string{"--policy", pol, "--input", "x"}, 1, "", "level keyed-hash but no content-hash key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runComply(t, append([]string{"--store", store, "log", "--create"}, tt.args...)...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d (want %d), stdout %q (want %q), stderr %q (want %q)", code, tt.code, stdout, tt.stdout, stderr, tt.stderr)
			}
		})
	}
	key := filepath.Join(dir, "hash.key")
	if code, _, stderr := runComply(t, "keygen", "--hash", "--out", key); code != 0 {
		t.Fatal(stderr)
	}
	withKey := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string
	}{
		{"none", []string{"--provider", "quiet", "--input", "x"}, 0, "", "counted, not logged"},
		{"reject", []string{"--provider", "openai", "--input", "x"}, 1, "", "missing required metadata: user_id"},
		{"logged", []string{"--provider", "keyed", "--input", "x", "--metadata", `{"user_id": "u"}`}, 0, "-", ""},
	}
	for _, tt := range withKey {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runComply(t, append([]string{"--store", store, "log", "--create", "--policy", pol, "--hash-key-file", key}, tt.args...)...)
			if code != tt.code || !strings.Contains(stdout, tt.stdout) || !strings.Contains(stderr, tt.stderr) {
				t.Fatalf("exit %d (want %d), stdout %q (want %q), stderr %q (want %q)", code, tt.code, stdout, tt.stdout, stderr, tt.stderr)
			}
		})
	}
	if code, stdout, _ := runComply(t, "--store", store, "count"); code != 0 || strings.TrimSpace(stdout) != "1" {
		t.Errorf("count %d %q, want 1 entry", code, stdout)
	}
}
