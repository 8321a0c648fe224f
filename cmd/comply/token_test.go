package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/complyhq/comply/server/auth"
)

// newDirStore makes a store directory, as 'comply init' does, and clears
// the environment the token and access commands read.
func newDirStore(t *testing.T) string {
	t.Helper()
	t.Setenv("COMPLY_STORE", "")
	t.Setenv(envTokens, "")
	t.Setenv(envSigningKey, "")
	dir := filepath.Join(t.TempDir(), "logs")
	if code, _, stderr := runComply(t, "init", dir); code != exitOK {
		t.Fatalf("init: %d %s", code, stderr)
	}
	return dir
}

func TestTokenCommands(t *testing.T) {
	dir := newDirStore(t)
	code, stdout, stderr := runComply(t, "--store", dir, "token", "create", "--name", "ci", "--role", "ingest")
	if code != exitOK {
		t.Fatalf("token create: %d %s", code, stderr)
	}
	secret := strings.TrimSpace(stdout)
	if !strings.HasPrefix(secret, auth.SecretPrefix) || strings.Count(stdout, "\n") != 1 {
		t.Fatalf("token create printed %q, want the secret alone on one line", stdout)
	}
	if strings.Contains(stderr, secret) || !strings.Contains(stderr, "Authorization: Bearer") || !strings.Contains(stderr, "once") {
		t.Errorf("token create's stderr %q: want how to use it, without the secret", stderr)
	}
	path := filepath.Join(dir, sidecarDir, tokensFile)
	f, err := auth.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if tok, err := f.Authenticate(t.Context(), secret); err != nil || tok.Name != "ci" || tok.Role != auth.Ingest {
		t.Fatalf("the printed secret does not authenticate: %+v, %v", tok, err)
	}
	if code, _, stderr := runComply(t, "--store", dir, "token", "create", "--name", "auditor", "--role", "read"); code != exitOK {
		t.Fatalf("token create auditor: %d %s", code, stderr)
	}

	// Every command that prints or fails: the secret never appears.
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   []string // substrings of stdout
		stderrIn string   // a substring of stderr
	}{
		{"list", []string{"token", "list"}, exitOK, []string{"NAME", "auditor  read", "ci       ingest"}, ""},
		{"list json", []string{"token", "list", "--json"}, exitOK, []string{`"name": "auditor"`, `"role": "ingest"`}, ""},
		{"taken", []string{"token", "create", "--name", "ci", "--role", "admin"}, exitError, nil, "exists"},
		{"bad role", []string{"token", "create", "--name", "x", "--role", "root"}, exitUsage, nil, "unknown role"},
		{"bad name", []string{"token", "create", "--name", "a b", "--role", "read"}, exitUsage, nil, "token name"},
		{"no name", []string{"token", "create", "--role", "read"}, exitUsage, nil, "--name"},
		{"secret as name", []string{"token", "create", "--name", secret, "--role", "read"}, exitUsage, nil, "as secrets do"},
		{"revoke unknown", []string{"token", "revoke", "nobody"}, exitError, nil, "no such token"},
		{"revoke a secret", []string{"token", "revoke", secret}, exitError, nil, "no such token"},
		{"no subcommand", []string{"token"}, exitUsage, nil, "create, list or revoke"},
		{"unknown subcommand", []string{"token", "show"}, exitUsage, nil, "unknown subcommand"},
		{"flag of another subcommand", []string{"token", "list", "--role", "read"}, exitUsage, nil, "takes no --role"},
		{"revoke two", []string{"token", "revoke", "a", "b"}, exitUsage, nil, "one token NAME"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runComply(t, append([]string{"--store", dir}, tt.args...)...)
			if code != tt.code {
				t.Fatalf("exit %d, want %d; stderr %s", code, tt.code, stderr)
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout, s) {
					t.Errorf("stdout %q lacks %q", stdout, s)
				}
			}
			if !strings.Contains(stderr, tt.stderrIn) {
				t.Errorf("stderr %q lacks %q", stderr, tt.stderrIn)
			}
			if strings.Contains(stdout, secret) || strings.Contains(stderr, secret) {
				t.Errorf("the secret appears in the output")
			}
			data, _ := os.ReadFile(path)
			if strings.Contains(string(data), secret) {
				t.Errorf("the tokens file holds the secret")
			}
		})
	}
	var listed []map[string]any
	_, stdout, _ = runComply(t, "--store", dir, "token", "list", "--json")
	if err := json.Unmarshal([]byte(stdout), &listed); err != nil || len(listed) != 2 {
		t.Fatalf("token list --json = %q, %v", stdout, err)
	}
	for _, tok := range listed {
		if len(tok) != 3 || tok["created"] == nil {
			t.Errorf("token list --json shows %v: want name, role and created only", tok)
		}
	}

	if code, _, stderr := runComply(t, "--store", dir, "token", "revoke", "ci"); code != exitOK || !strings.Contains(stderr, "revoked token ci") {
		t.Fatalf("revoke: %d %s", code, stderr)
	}
	g, err := auth.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Authenticate(t.Context(), secret); !errors.Is(err, auth.ErrUnknownToken) {
		t.Errorf("the revoked secret: %v, want ErrUnknownToken", err)
	}

	// The store still opens and counts with the tokens file in .comply/.
	if code, stdout, stderr := runComply(t, "--store", dir, "count"); code != exitOK || strings.TrimSpace(stdout) != "0" {
		t.Errorf("count beside a tokens file: %d %q %s", code, stdout, stderr)
	}
	if code, _, stderr := runComply(t, "--store", dir, "log", "--input", "hi", "--output", "ho"); code != exitOK {
		t.Errorf("log beside a tokens file: %d %s", code, stderr)
	}
}

func TestTokensPath(t *testing.T) {
	dir := newDirStore(t)
	missing := filepath.Join(t.TempDir(), "nosuch")
	tests := []struct {
		name, store, flag, env string
		want                   string // "" : an error
	}{
		{"flag", dir, "/etc/comply/tokens.json", "/x", "/etc/comply/tokens.json"},
		{"env", dir, "", "/run/tokens.json", "/run/tokens.json"},
		{"directory store", dir, "", "", filepath.Join(dir, ".comply", "tokens.json")},
		{"file URL", "file://" + dir, "", "", filepath.Join(dir, ".comply", "tokens.json")},
		{"missing directory", missing, "", "", ""},
		{"s3 without --tokens", "s3://bucket/prefix?region=eu-west-1", "", "", ""},
		{"s3 with --tokens", "s3://bucket/prefix", "/srv/tokens.json", "", "/srv/tokens.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(envTokens, tt.env)
			c := &cli{store: tt.store}
			got, err := c.tokensPath(tt.flag)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("tokensPath = %q, want an error", got)
				}
				if strings.HasPrefix(tt.store, "s3://") && len(hints(err)) == 0 {
					t.Errorf("the error %v has no hint", err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("tokensPath = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// The token commands do not create a missing store.
	if code, _, _ := runComply(t, "--store", missing, "token", "create", "--name", "a", "--role", "read"); code == exitOK {
		t.Error("token create made a token for a store that does not exist")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("token create created the store directory")
	}
}
