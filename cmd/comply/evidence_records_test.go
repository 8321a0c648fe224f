package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store/filestore"
)

// TestPackRecordExit3: a pack holds the period's signed erasure record,
// verify-pack checks it, and a changed byte of the record exits 3.
func TestPackRecordExit3(t *testing.T) {
	dir := newDirStore(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	keys := filepath.Join(t.TempDir(), "prod")
	if code, _, stderr := runComply(t, "keygen", "--signing", "--out", keys); code != exitOK {
		t.Fatalf("keygen: %s", stderr)
	}
	if code, _, stderr := runComply(t, "--store", dir, "log", "--input", "a", "--output", "x", "--signing-key", keys+".signer"); code != exitOK {
		t.Fatalf("log: %s", stderr)
	}
	signer, err := ledger.LoadSigner(keys + ".signer")
	if err != nil {
		t.Fatal(err)
	}
	st, err := filestore.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	origins, err := ledger.Origins(t.Context(), st)
	if err != nil || len(origins) != 1 {
		t.Fatalf("origins %v, %v", origins, err)
	}
	lg, err := ledger.Open(t.Context(), st, &ledger.Options{Signer: signer, Origin: origins[0]})
	if err != nil {
		t.Fatal(err)
	}
	e := &ledger.Erasure{Subject: "user_id", HMAC: "hmac-1", KeyID: "dk-1", Time: time.Now().UTC(), LegalHold: true, Reason: "GDPR request #7"}
	if err := lg.RecordErasure(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	day := time.Now().UTC()
	start, end := day.AddDate(0, 0, -1).Format("2006-01-02"), day.AddDate(0, 0, 1).Format("2006-01-02")
	pack := filepath.Join(t.TempDir(), "pack.zip")
	if code, stdout, stderr := runComply(t, "--store", dir, "evidence", "--start", start, "--end", end, "--out", pack, "--sample", "1", "--signing-key", keys+".signer"); code != exitOK {
		t.Fatalf("evidence: %d %s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runComply(t, "verify-pack", pack, "--verifier-key", keys+".verifier"); code != exitOK || !strings.Contains(stdout, "1 signed records") {
		t.Fatalf("verify-pack: %d %s%s", code, stdout, stderr)
	}
	b, err := os.ReadFile(pack)
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(b, []byte("comply-erasure/v1\n"))
	if at < 0 {
		t.Fatal("no erasure record in the pack")
	}
	b[at+len("comply-erasure/v1\n")+2] ^= 0x20 // a byte of the origin line
	bad := filepath.Join(t.TempDir(), "bad.zip")
	if err := os.WriteFile(bad, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := runComply(t, "verify-pack", bad, "--verifier-key", keys+".verifier"); code != exitTampered || !strings.Contains(stderr, "records/") {
		t.Errorf("a byte of the record changed: exit %d %s", code, stderr)
	}
}
