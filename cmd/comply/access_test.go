package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/store/filestore"
)

func TestAccessStoreSpec(t *testing.T) {
	tests := []struct {
		main, want string // want "": an error
	}{
		{"logs", filepath.Join("logs", ".comply", "access")},
		{"/var/lib/comply/", filepath.Join("/var/lib/comply", ".comply", "access")},
		{"file:///srv/logs", filepath.Join("/srv/logs", ".comply", "access")},
		{"s3://bucket/prefix?region=eu-west-1", "s3://bucket/prefix/_comply/access?region=eu-west-1"},
		{"s3://bucket/a/b/?region=eu-west-1&layout=seed&object_lock=compliance", "s3://bucket/a/b/_comply/access?object_lock=compliance&region=eu-west-1"},
		{"s3://bucket", "s3://bucket/_comply/access"},
		{"gs://bucket/x", ""},
		{"", ""},
	}
	for _, tt := range tests {
		got, err := accessStoreSpec(tt.main)
		if tt.want == "" {
			if err == nil {
				t.Errorf("accessStoreSpec(%q) = %q, want an error", tt.main, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("accessStoreSpec(%q) = %q, %v; want %q", tt.main, got, err, tt.want)
		}
	}
}

var accessRecords = []accesslog.Record{
	{Time: time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC), Token: "auditor", Role: "read", Method: "GET", Route: "GET /v1/entries",
		Filters: map[string]string{"provider": "openai"}, Count: 3, Remote: "10.0.0.2:5000", Status: 200},
	{Time: time.Date(2026, 5, 1, 10, 0, 1, 0, time.UTC), Token: "auditor", Role: "read", Method: "POST", Route: "POST /v1/entries/{id}/decrypt",
		IDs: []string{"0196-abc"}, Remote: "10.0.0.2:5000", Status: 403, Denied: true, Reason: "role read may not decrypt"},
	{Time: time.Date(2026, 5, 1, 10, 0, 2, 0, time.UTC), Method: "GET", Route: "GET /v1/entries/{id}",
		IDs: []string{"0196-def"}, Remote: "10.0.0.9:1\x1b[31m", Status: 401, Denied: true, Reason: "no token"},
	{Time: time.Date(2026, 5, 2, 9, 0, 0, 0, time.UTC), Token: "ops", Role: "admin", Method: "GET", Route: "GET /v1/entries/{id}/proof",
		IDs: []string{"0196-abc"}, Count: 1, Remote: "10.0.0.3:7", Status: 200},
}

// writeAccess records recs in the access log of c.store, as comply serve
// does, signed with signingKey ("" for none).
func writeAccess(t *testing.T, dir, signingKey string, recs []accesslog.Record) {
	t.Helper()
	c := &cli{store: dir, stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	l, err := c.openAccessWriter(t.Context(), filestore.Always, signingKey)
	if err != nil {
		t.Fatal(err)
	}
	a := accesslog.New(l)
	for _, r := range recs {
		if err := a.Record(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAccessLogCommand(t *testing.T) {
	dir := newDirStore(t)
	if code, _, stderr := runComply(t, "--store", dir, "log", "--input", "q", "--output", "a"); code != exitOK {
		t.Fatalf("log: %d %s", code, stderr)
	}

	// No access store yet: a clear error.
	code, _, stderr := runComply(t, "--store", dir, "access-log")
	if code != exitError || !strings.Contains(stderr, "no access log yet") || !strings.Contains(stderr, "hint:") {
		t.Errorf("access-log without an access store: %d %s", code, stderr)
	}

	// An empty one: nothing, exit 0.
	writeAccess(t, dir, "", nil)
	code, stdout, stderr := runComply(t, "--store", dir, "access-log")
	if code != exitOK || stdout != "" || !strings.Contains(stderr, "no accesses") {
		t.Errorf("access-log on an empty access store: %d %q %q", code, stdout, stderr)
	}

	writeAccess(t, dir, "", accessRecords)
	tests := []struct {
		name  string
		args  []string
		lines []string // substrings, one per expected line, in order
	}{
		{"all", nil, []string{
			"2026-05-01T10:00:00.000000Z auditor read 200 count=3 remote=10.0.0.2:5000 GET /v1/entries provider=openai",
			"2026-05-01T10:00:01.000000Z auditor read 403 count=0 remote=10.0.0.2:5000 POST /v1/entries/{id}/decrypt ids=0196-abc DENIED: role read may not decrypt",
			`2026-05-01T10:00:02.000000Z - - 401 count=0 remote=10.0.0.9:1\x1b[31m GET /v1/entries/{id} ids=0196-def DENIED: no token`,
			"2026-05-02T09:00:00.000000Z ops admin 200 count=1 remote=10.0.0.3:7 GET /v1/entries/{id}/proof ids=0196-abc",
		}},
		{"denied", []string{"--denied"}, []string{"DENIED: role read", "DENIED: no token"}},
		{"token", []string{"--token", "auditor"}, []string{"auditor read 200", "auditor read 403"}},
		{"token denied", []string{"--token", "auditor", "--denied"}, []string{"auditor read 403"}},
		{"range", []string{"--start", "2026-05-02", "--end", "2026-05-02"}, []string{"ops admin"}},
		{"since", []string{"--since", "1h"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runComply(t, append([]string{"--store", dir, "access-log"}, tt.args...)...)
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stdout, "\n"), "\n")
			if stdout == "" {
				lines = nil
			}
			if len(lines) != len(tt.lines) {
				t.Fatalf("%d lines, want %d:\n%s", len(lines), len(tt.lines), stdout)
			}
			for i, want := range tt.lines {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
				}
			}
		})
	}

	// --json: one record per line, every field as recorded.
	code, stdout, stderr = runComply(t, "--store", dir, "access-log", "--json")
	if code != exitOK {
		t.Fatalf("access-log --json: %d %s", code, stderr)
	}
	var got []accesslog.Record
	for line := range strings.SplitSeq(strings.TrimSpace(stdout), "\n") {
		var r accesslog.Record
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		got = append(got, r)
	}
	if !reflect.DeepEqual(got, accessRecords) {
		t.Errorf("access-log --json =\n%+v\nwant\n%+v", got, accessRecords)
	}

	// The main store is undisturbed: its count, its files, no strays.
	if code, stdout, _ := runComply(t, "--store", dir, "count"); code != exitOK || strings.TrimSpace(stdout) != "1" {
		t.Errorf("count of the main store = %q, want 1 (access entries are not entries)", stdout)
	}
	s, err := filestore.Open(t.Context(), dir, &filestore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if strays, err := s.StrayFiles(t.Context()); err != nil || len(strays) != 0 {
		t.Errorf("StrayFiles = %v, %v; want none", strays, err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 2 || !slices.Contains(names, sidecarDir) || !strings.HasPrefix(names[1], "audit_") {
		t.Errorf("the store's directory holds %v: want one audit_*.jsonl (all the Python library reads) and .comply", names)
	}
}

// TestAccessLogSigned: an access writer signed with the main store's key
// keeps a ledger of its own, named after the main one; 'comply verify'
// checks each store, and the main one is not disturbed by the other.
func TestAccessLogSigned(t *testing.T) {
	dir := newDirStore(t)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	keys := filepath.Join(t.TempDir(), "prod")
	if code, _, stderr := runComply(t, "keygen", "--signing", "--out", keys); code != exitOK {
		t.Fatalf("keygen: %s", stderr)
	}
	if code, _, stderr := runComply(t, "--store", dir, "log", "--input", "q", "--output", "a", "--signing-key", keys+".signer"); code != exitOK {
		t.Fatalf("log: %s", stderr)
	}
	writeAccess(t, dir, keys+".signer", accessRecords[:2])
	writeAccess(t, dir, keys+".signer", accessRecords[2:]) // a second run keeps the same ledger

	access := filepath.Join(dir, sidecarDir, accessDir)
	mainOrigins := origins(t, dir)
	accessOrigins := origins(t, access)
	if len(mainOrigins) != 1 || len(accessOrigins) != 1 || accessOrigins[0] != mainOrigins[0]+"/access" {
		t.Errorf("origins: main %v, access %v; want the access one to be the main one + /access", mainOrigins, accessOrigins)
	}
	for _, store := range []string{dir, access} {
		code, stdout, stderr := runComply(t, "--store", store, "verify", "--verifier-key", keys+".verifier", "--trusted", filepath.Join(t.TempDir(), "trusted"))
		if code != exitOK {
			t.Errorf("verify --store %s: %d\n%s%s", store, code, stdout, stderr)
		}
	}
	if code, stdout, _ := runComply(t, "--store", dir, "access-log"); code != exitOK || strings.Count(stdout, "\n") != len(accessRecords) {
		t.Errorf("access-log of a signed access store: %d\n%s", code, stdout)
	}
	// Writing it unsigned is refused, as for the main store.
	c := &cli{store: dir, stdout: &strings.Builder{}, stderr: &strings.Builder{}}
	if l, err := c.openAccessWriter(t.Context(), filestore.Always, ""); err == nil {
		l.Close()
		t.Error("openAccessWriter without a key opened a signed access log")
	}
}

func origins(t *testing.T, dir string) []string {
	t.Helper()
	sst, err := openLedgerStore(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer sst.Close()
	o, err := ledger.Origins(t.Context(), sst)
	if err != nil {
		t.Fatal(err)
	}
	return o
}
