package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReportCommand(t *testing.T) {
	dir := newDirStore(t)
	keys := filepath.Join(t.TempDir(), "prod")
	if code, _, stderr := runComply(t, "keygen", "--signing", "--out", keys); code != exitOK {
		t.Fatalf("keygen: %s", stderr)
	}
	for _, md := range []string{`{"user_id": "u1", "session_id": "s1"}`, `{"user_id": "u2"}`} {
		if code, _, stderr := runComply(t, "--store", dir, "log", "--input", "q", "--output", "a", "--metadata", md, "--signing-key", keys+".signer"); code != exitOK {
			t.Fatalf("log: %s", stderr)
		}
	}
	writeAccess(t, dir, keys+".signer", accessRecords[:2])

	// JSON, with the verifier key: integrity is evidenced and passes,
	// attribution fails (one entry lacks session_id), the access log is read.
	code, stdout, stderr := runComply(t, "--store", dir, "report", "--framework", "eu-ai-act", "--start", "2000-01-01", "--end", "2100-01-01", "--format", "json", "--verifier-key", keys+".verifier")
	if code != exitOK {
		t.Fatalf("report: %d %s", code, stderr)
	}
	var r struct {
		Version int
		Config  struct {
			Ledger    bool `json:"ledger"`
			AccessLog bool `json:"access_log"`
		}
		Controls []struct{ Ref, Status string }
	}
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("report JSON: %v\n%s", err, stdout)
	}
	status := map[string]string{}
	for _, c := range r.Controls {
		status[c.Ref+" "+c.Status] = c.Status
	}
	if r.Version != 1 || !r.Config.Ledger || !r.Config.AccessLog {
		t.Errorf("version %d, ledger %v, access log %v: want 1, true, true", r.Version, r.Config.Ledger, r.Config.AccessLog)
	}
	for _, want := range []string{"Art. 12(1) pass", "Art. 12(2) fail"} {
		if status[want] == "" {
			t.Errorf("no control %q in %v", want, r.Controls)
		}
	}
	// Without the key, the ledger's controls are not evidenced, never passed.
	_, stdout, _ = runComply(t, "--store", dir, "report", "--framework", "eu-ai-act", "--period", "2026-11")
	if !strings.Contains(stdout, "not_evidenced") || strings.Contains(stdout, "verifies against the signed ledger. | **pass**") {
		t.Errorf("report without a verifier key:\n%s", stdout)
	}
	// HTML to a file, mode 600.
	out := filepath.Join(t.TempDir(), "r.html")
	if code, _, stderr := runComply(t, "--store", dir, "report", "--period", "2026", "--format", "html", "--out", out); code != exitOK {
		t.Fatalf("report --out: %s", stderr)
	}
	if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 || fi.Size() == 0 {
		t.Errorf("report file: %v %v", fi, err)
	}
	for _, args := range [][]string{
		{"report"}, // no period
		{"report", "--period", "2026-13"},
		{"report", "--period", "2026-11", "--start", "2026-11-01"},
		{"report", "--period", "2026-11", "--framework", "pci"},
		{"report", "--period", "2026-11", "--format", "pdf"},
	} {
		if code, _, _ := runComply(t, append([]string{"--store", dir}, args...)...); code != exitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, exitUsage)
		}
	}
}
