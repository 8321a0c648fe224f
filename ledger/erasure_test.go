package ledger_test

import (
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store/storetest"
)

func TestParseErasure(t *testing.T) {
	t.Parallel()
	ok := "comply-erasure/v1\no\nsubject user_id\nhmac 0123abcd\nkey s-01\ntime 2026-03-01T00:00:00Z\nlegal-hold true\nreason GDPR request 42\n"
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"valid", ok, true},
		{"no reason", strings.Replace(ok, "reason GDPR request 42", "reason ", 1), false},
		{"bad hold", strings.Replace(ok, "legal-hold true", "legal-hold yes", 1), false},
		{"bad time", strings.Replace(ok, "2026-03-01T00:00:00Z", "yesterday", 1), false},
		{"space in hmac", strings.Replace(ok, "hmac 0123abcd", "hmac 01 23", 1), false},
		{"missing line", strings.Replace(ok, "key s-01\n", "", 1), false},
		{"no newline", strings.TrimSuffix(ok, "\n"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := ledger.ParseErasure(tt.text)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseErasure: %v, want ok %v", err, tt.ok)
			}
			if tt.ok && e.Text() != tt.text {
				t.Errorf("Text() = %q", e.Text())
			}
		})
	}
}

// TestErasures: a signed erasure record is listed (within its period),
// leaves verify passing, and is refused without its verifier key.
func TestErasures(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	_, other := keys(t, "other")
	dir := t.TempDir()
	st := openFS(t, dir, false)
	lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
	if err != nil {
		t.Fatal(err)
	}
	lg.Append(t.Context(), storetest.Records(day1, 3)...)
	at := time.Date(2026, 3, 5, 10, 0, 0, 0, time.UTC)
	e := &ledger.Erasure{Subject: "user_id", HMAC: "00ff", KeyID: "s-1", Time: at, LegalHold: true, Reason: "GDPR request 42"}
	if err := lg.RecordErasure(t.Context(), e); err != nil {
		t.Fatal(err)
	}
	if err := lg.RecordErasure(t.Context(), &ledger.Erasure{Subject: "user_id", HMAC: "00ff", KeyID: "s-1", Time: at, Reason: "a\nb"}); err == nil {
		t.Error("a two-line reason accepted")
	}
	lg.Close()
	st.Close()
	st = openFS(t, dir, true)
	defer st.Close()
	tests := []struct {
		name       string
		vs         []note.Verifier
		start, end time.Time
		want       int
		err        bool
	}{
		{"all", []note.Verifier{verifier}, time.Time{}, time.Time{}, 1, false},
		{"in period", []note.Verifier{verifier}, at.Add(-time.Hour), at, 1, false},
		{"before period", []note.Verifier{verifier}, at.Add(time.Second), time.Time{}, 0, false},
		{"unknown key", []note.Verifier{other}, time.Time{}, time.Time{}, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			es, err := ledger.Erasures(t.Context(), st, tt.vs, tt.start, tt.end)
			if (err != nil) != tt.err || len(es) != tt.want {
				t.Fatalf("Erasures = %+v, %v", es, err)
			}
			if tt.want == 1 && (es[0].Origin == "" || !es[0].LegalHold || es[0].Reason != "GDPR request 42") {
				t.Errorf("erasure %+v", es[0])
			}
		})
	}
	if r := verify(t, dir, []note.Verifier{verifier}, nil); !r.OK() {
		t.Fatal(describe(r))
	}
}
