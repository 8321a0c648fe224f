package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/complyhq/comply/seal"
)

// TestServeSubjectKey: serve's subject_key (--subject-key) seals content
// per data subject, as COMPLY_SUBJECT_KEY does for the other writers, and
// a server told to seal per subject without a keyring to wrap the keys
// refuses to start.
func TestServeSubjectKey(t *testing.T) {
	k, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "content.key")
	if err := os.WriteFile(keyFile, []byte("v1:"+k.Encode()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "logs")
	rs := startServe(t, "serve", "--store", dir, "--create", "--listen", "127.0.0.1:0", "--insecure-no-auth",
		"--store-content", "--key-file", keyFile, "--subject-key", "user_id")
	status, body := request(t, http.DefaultClient, "POST", rs.base+"/v1/entries", "", "application/json",
		`[{"input": "alice asks", "output": "answer", "metadata": {"user_id": "u-1"}}, {"input": "no subject", "output": "answer"}]`)
	if status != 200 {
		t.Fatalf("POST /v1/entries: %d %s", status, body)
	}
	var r struct{ IDs []string }
	json.Unmarshal([]byte(body), &r)
	if code := rs.exit(t); code != 0 || len(r.IDs) != 2 {
		t.Fatalf("exit %d, ids %v: %s", code, r.IDs, rs.stderr.String())
	}
	for i, want := range []string{`"encryption_key_version": "subject:s-`, `"encryption_key_version": "v1"`} {
		var out bytes.Buffer
		if code := run(t.Context(), []string{"--store", dir, "get", r.IDs[i]}, nil, &out, io.Discard); code != 0 || !strings.Contains(out.String(), want) {
			t.Errorf("entry %d: %d %s, want %s", i, code, out.String(), want)
		}
	}

	var errOut bytes.Buffer
	t.Setenv("AUDIT_ENCRYPTION_KEY", "")
	pub := filepath.Join(t.TempDir(), "team")
	if code := run(t.Context(), []string{"keygen", "--sealing", "--out", pub}, nil, io.Discard, io.Discard); code != 0 {
		t.Fatal("keygen --sealing failed")
	}
	code := run(t.Context(), []string{"serve", "--store", dir, "--listen", "127.0.0.1:0", "--insecure-no-auth",
		"--store-content", "--seal-to", pub + ".pub", "--subject-key", "user_id"}, nil, io.Discard, &errOut)
	if code == 0 || !strings.Contains(errOut.String(), "no encryption keyring was given to wrap the subjects' data keys") {
		t.Errorf("serve with a sealing key only: exit %d: %s", code, errOut.String())
	}
}
