package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestEvidenceCommands: evidence writes a pack verify-pack accepts; a
// changed byte, or another key, exits 3; attest records a review entry.
func TestEvidenceCommands(t *testing.T) {
	dir := newDirStore(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	keys := filepath.Join(t.TempDir(), "prod")
	other := filepath.Join(t.TempDir(), "other")
	for _, k := range []string{keys, other} {
		if code, _, stderr := runComply(t, "keygen", "--signing", "--out", k); code != exitOK {
			t.Fatalf("keygen: %s", stderr)
		}
	}
	for _, in := range []string{"a", "b", "c"} {
		if code, _, stderr := runComply(t, "--store", dir, "log", "--input", in, "--output", "x", "--signing-key", keys+".signer"); code != exitOK {
			t.Fatalf("log: %s", stderr)
		}
	}
	day := time.Now().UTC()
	start, end := day.AddDate(0, 0, -1).Format("2006-01-02"), day.AddDate(0, 0, 1).Format("2006-01-02")
	report := filepath.Join(t.TempDir(), "report.json")
	if err := os.WriteFile(report, []byte(`{"version":1,"period":{"start":"`+start+`T00:00:00Z","end":"`+end+`T23:59:59Z"}}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	pack := filepath.Join(t.TempDir(), "pack.zip")
	code, stdout, stderr := runComply(t, "--store", dir, "evidence", "--start", start, "--end", end, "--out", pack, "--sample", "2", "--seed", "3", "--report", report, "--signing-key", keys+".signer")
	if code != exitOK || !strings.Contains(stdout, "2 sampled entries (seed 3)") {
		t.Fatalf("evidence: %d %s%s", code, stdout, stderr)
	}
	if fi, err := os.Stat(pack); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("pack mode: %v %v", fi, err)
	}
	if code, stdout, stderr := runComply(t, "verify-pack", pack, "--verifier-key", keys+".verifier"); code != exitOK || !strings.HasPrefix(stdout, "valid: ") || !strings.Contains(stdout, "report included: true") {
		t.Errorf("verify-pack: %d %s%s", code, stdout, stderr)
	}
	if code, _, stderr := runComply(t, "verify-pack", pack, "--verifier-key", other+".verifier"); code != exitTampered || !strings.Contains(stderr, "hint:") {
		t.Errorf("verify-pack with another key: %d %s", code, stderr)
	}
	b, err := os.ReadFile(pack)
	if err != nil {
		t.Fatal(err)
	}
	for _, at := range []int{len(b) / 3, len(b) / 2, len(b) - 30} {
		bad := append([]byte(nil), b...)
		bad[at] ^= 0x20
		f := filepath.Join(t.TempDir(), "bad.zip")
		if err := os.WriteFile(f, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := runComply(t, "verify-pack", f, "--verifier-key", keys+".verifier"); code != exitTampered {
			t.Errorf("a byte changed at %d of %d: exit %d %s", at, len(b), code, stderr)
		}
	}

	// Without --report, the report of the period is built, and its sample
	// is the pack's.
	built := filepath.Join(t.TempDir(), "built.zip")
	code, stdout, stderr = runComply(t, "--store", dir, "evidence", "--start", start, "--end", end, "--out", built, "--sample", "3", "--signing-key", keys+".signer")
	if code != exitOK || !strings.Contains(stdout, "3 sampled entries (seed 1)") {
		t.Fatalf("evidence with a built report: %d %s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runComply(t, "verify-pack", built, "--verifier-key", keys+".verifier"); code != exitOK || !strings.Contains(stdout, "report included: true") {
		t.Errorf("verify-pack of a built report: %d %s%s", code, stdout, stderr)
	}

	code, stdout, stderr = runComply(t, "--store", dir, "attest", "--report", report, "--reviewer", "Dana", "--note", "reviewed", "--signing-key", keys+".signer")
	id := strings.TrimSpace(stdout)
	if code != exitOK || len(id) != 36 {
		t.Fatalf("attest: %d %s%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runComply(t, "--store", dir, "get", id); code != exitOK || !strings.Contains(stdout, `"reviewer":"Dana"`) && !strings.Contains(stdout, `"reviewer": "Dana"`) {
		t.Errorf("get the attestation: %d %s%s", code, stdout, stderr)
	}
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"evidence", "--out", pack, "--signing-key", keys + ".signer"}, exitUsage},
		{[]string{"evidence", "--period", "2026-Q5", "--out", pack, "--signing-key", keys + ".signer"}, exitUsage},
		{[]string{"evidence", "--period", "2026-Q3", "--start", start, "--out", pack, "--signing-key", keys + ".signer"}, exitUsage},
		{[]string{"--store", dir, "attest", "--report", report, "--signing-key", keys + ".signer"}, exitUsage},
		{[]string{"verify-pack", "--verifier-key", keys + ".verifier"}, exitUsage},
	} {
		if code, _, stderr := runComply(t, tt.args...); code != tt.want {
			t.Errorf("%v: exit %d, want %d (%s)", tt.args, code, tt.want, stderr)
		}
	}
}

func TestPackPeriod(t *testing.T) {
	for _, tt := range []struct{ period, start, end string }{
		{"2026-Q3", "2026-07-01T00:00:00Z", "2026-09-30T23:59:59.999999999Z"},
		{"2026-11", "2026-11-01T00:00:00Z", "2026-11-30T23:59:59.999999999Z"},
		{"2026", "2026-01-01T00:00:00Z", "2026-12-31T23:59:59.999999999Z"},
		{"2026-02-28", "2026-02-28T00:00:00Z", "2026-02-28T23:59:59.999999999Z"},
	} {
		s, e, err := packPeriod(tt.period, "", "")
		if err != nil || s.Format(time.RFC3339Nano) != tt.start || e.Format(time.RFC3339Nano) != tt.end {
			t.Errorf("%s: %s %s %v", tt.period, s.Format(time.RFC3339Nano), e.Format(time.RFC3339Nano), err)
		}
	}
	for _, bad := range []string{"2026-Q0", "26-Q1", "2026-13", "x", "2026-1"} {
		if _, _, err := packPeriod(bad, "", ""); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

// TestEvidenceDeterministic: evidence twice over the same store and
// period writes the same bytes, the report's time being the covering
// checkpoint's, or --generated.
func TestEvidenceDeterministic(t *testing.T) {
	dir := newDirStore(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	keys := filepath.Join(t.TempDir(), "prod")
	if code, _, stderr := runComply(t, "keygen", "--signing", "--out", keys); code != exitOK {
		t.Fatalf("keygen: %s", stderr)
	}
	for _, in := range []string{"a", "b", "c", "d"} {
		if code, _, stderr := runComply(t, "--store", dir, "log", "--input", in, "--output", "x", "--signing-key", keys+".signer"); code != exitOK {
			t.Fatalf("log: %s", stderr)
		}
	}
	day := time.Now().UTC()
	start, end := day.AddDate(0, 0, -1).Format("2006-01-02"), day.AddDate(0, 0, 1).Format("2006-01-02")
	tests := []struct {
		name  string
		extra []string
	}{
		{"at the checkpoint", nil},
		{"generated", []string{"--generated", "2030-01-02T03:04:05Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var packs [][]byte
			for range 2 {
				out := filepath.Join(t.TempDir(), "pack.zip")
				args := append([]string{"--store", dir, "evidence", "--start", start, "--end", end, "--out", out, "--sample", "3", "--signing-key", keys + ".signer"}, tt.extra...)
				if code, stdout, stderr := runComply(t, args...); code != exitOK {
					t.Fatalf("evidence: %d %s%s", code, stdout, stderr)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				packs = append(packs, b)
				time.Sleep(1100 * time.Millisecond) // a clock read would differ
			}
			if !bytes.Equal(packs[0], packs[1]) {
				t.Errorf("two packs of the same store differ (%d and %d bytes)", len(packs[0]), len(packs[1]))
			}
			if tt.extra != nil && !bytes.Contains(packs[0], []byte(`"generated": "2030-01-02T03:04:05Z"`)) {
				t.Error("the report's time is not --generated")
			}
		})
	}
}
