package ledger_test

import (
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
)

func TestRecordPolicy(t *testing.T) {
	dir := t.TempDir()
	s, v := keys(t, "policytest")
	_, otherV := keys(t, "other")
	st := openFS(t, dir, false)
	defer st.Close()
	lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: s, Origin: "comply/test"}))
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		text  string
		wrote bool
		err   string
	}{
		{`{"default":{"level":"hash"}}`, true, ""},
		{`{"default":{"level":"hash"}}`, false, ""},
		{`{"default":{"level":"none"}}`, true, ""},
		{"null", true, ""},
		{"two\nlines", false, "one line"},
		{"", false, "one line"},
	}
	for _, st := range steps {
		wrote, err := lg.RecordPolicy(t.Context(), st.text)
		if st.err != "" {
			if err == nil || !strings.Contains(err.Error(), st.err) {
				t.Fatalf("RecordPolicy(%q) = %v, want an error containing %q", st.text, err, st.err)
			}
			continue
		}
		if err != nil || wrote != st.wrote {
			t.Fatalf("RecordPolicy(%q) = %t, %v; want %t", st.text, wrote, err, st.wrote)
		}
	}
	recs, err := lg.Policies(t.Context())
	if err != nil || len(recs) != 3 || recs[0].Text != `{"default":{"level":"hash"}}` || recs[2].Text != "null" || recs[0].Origin != "comply/test" {
		t.Fatalf("Policies = %+v, %v", recs, err)
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		known note.Verifiers
		ok    bool
	}{
		{"the writer's key", note.VerifierList(v), true},
		{"another key", note.VerifierList(otherV), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := ledger.Policies(t.Context(), st, "comply/test", tt.known)
			if (err == nil) != tt.ok || tt.ok && len(recs) != 3 {
				t.Fatalf("Policies = %d records, %v; want ok %t", len(recs), err, tt.ok)
			}
		})
	}
}

func TestParsePolicyRecord(t *testing.T) {
	const good = "comply-policy/v1\ncomply/test\ntime 2026-11-30T10:00:00Z\nsize 12\nsha256 74234e98afe7498fb5daf1f36ac2d78acc339464f950703b8c019892f982b90b\npolicy null\n"
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"good", good, true},
		{"no newline", strings.TrimSuffix(good, "\n"), false},
		{"other magic", strings.Replace(good, "comply-policy/v1", "comply-policy/v2", 1), false},
		{"hash mismatch", strings.Replace(good, "policy null", "policy {}", 1), false},
		{"bad size", strings.Replace(good, "size 12", "size x", 1), false},
		{"bad time", strings.Replace(good, "time 2026", "time x", 1), false},
		{"extra line", good + "x\n", false},
		{"lines swapped", strings.Replace(good, "time 2026-11-30T10:00:00Z\nsize 12", "size 12\ntime 2026-11-30T10:00:00Z", 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ledger.ParsePolicyRecord(tt.text)
			if (err == nil) != tt.ok {
				t.Fatalf("ParsePolicyRecord = %+v, %v; want ok %t", p, err, tt.ok)
			}
			if tt.ok && (p.Size != 12 || p.Text != "null" || p.Origin != "comply/test") {
				t.Errorf("parsed %+v", p)
			}
		})
	}
}
