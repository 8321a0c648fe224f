package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

// rewrap marks a line as rewritten without changing its id or time.
func rewrap(tag string) func(store.Record) ([]byte, bool, error) {
	return func(r store.Record) ([]byte, bool, error) {
		var ln []byte
		for _, from := range []string{`"openai"`, `"v2"`} {
			if bytes.Contains(r.Line, []byte(from)) {
				ln = bytes.Replace(r.Line, []byte(from), []byte(`"`+tag+`"`), 1)
			}
		}
		return ln, ln != nil, nil
	}
}

// failingRewriter is a file store whose Rewrite fails after the ledger has
// signed its record: a crash between the record and the rewrite.
type failingRewriter struct{ *filestore.Store }

func (f failingRewriter) Rewrite(ctx context.Context, segment string, fn func(store.Record) ([]byte, bool, error)) (int64, error) {
	return 0, errors.New("disk on fire")
}

func TestRewrite(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	vs := []note.Verifier{verifier}
	recs := storetest.Records(day1, 20)
	tests := []struct {
		name  string
		after func(t *testing.T, dir string, lg *ledger.Ledger)
		check func(t *testing.T, r *ledger.Report)
	}{
		{"rewrapped", nil, func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Rewrapped != 10 || r.Valid != 20 || len(r.Rewrites) != 1 || r.Rewrites[0].Count != 10 {
				t.Fatal(describe(r))
			}
			if s := r.Rewrites[0].String(); !strings.Contains(s, "rewrapped: 10 entries at ") || !strings.Contains(s, "(key rotation)") {
				t.Errorf("rewrite report %q", s)
			}
		}},
		{"rewrapped twice", func(t *testing.T, dir string, lg *ledger.Ledger) {
			if n, err := lg.Rewrite(t.Context(), file1, "again", rewrap("v3")); err != nil || n != 10 {
				t.Fatalf("second Rewrite = %d, %v", n, err)
			}
		}, func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Rewrapped != 10 || len(r.Rewrites) != 2 {
				t.Fatal(describe(r))
			}
		}},
		{"rewritten line changed again", func(t *testing.T, dir string, lg *ledger.Ledger) {
			editFile(t, dir, file1, func(ls [][]byte) [][]byte {
				ls[3] = bytes.Replace(ls[3], []byte("model-"), []byte("forged"), 1)
				return ls
			})
		}, func(t *testing.T, r *ledger.Report) {
			if r.OK() || !r.Has(ledger.Modified) || r.Rewrapped != 9 {
				t.Fatal(describe(r))
			}
		}},
		{"rewrapped entry deleted on request", func(t *testing.T, dir string, lg *ledger.Ledger) {
			if err := lg.Delete(t.Context(), recs[2].ID); err != nil {
				t.Fatal(err)
			}
		}, func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Deleted != 1 || r.Rewrapped != 9 {
				t.Fatal(describe(r))
			}
		}},
		{"rewrapped entries expired", func(t *testing.T, dir string, lg *ledger.Ledger) {
			if n, err := lg.Expire(t.Context(), recs[12].Time); err != nil || n != 12 {
				t.Fatalf("Expire = %d, %v", n, err)
			}
		}, func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Deleted != 12 || r.Valid != 8 {
				t.Fatal(describe(r))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			st := openFS(t, dir, false)
			lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
			if err != nil {
				t.Fatal(err)
			}
			if err := lg.Append(t.Context(), recs...); err != nil {
				t.Fatal(err)
			}
			if n, err := lg.Rewrite(t.Context(), file1, "key rotation", rewrap("v2")); err != nil || n != 10 {
				t.Fatalf("Rewrite = %d, %v", n, err)
			}
			if tt.after != nil {
				tt.after(t, dir, lg)
			}
			lg.Close()
			st.Close()
			tt.check(t, verify(t, dir, vs, nil))
		})
	}
}

// TestRewriteReopen: a writer reopened after a rewrap recovers no foreign
// line and goes on signing.
func TestRewriteReopen(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	recs := storetest.Records(day1, 20)
	dir := t.TempDir()
	write(t, dir, ledger.Options{Signer: signer}, recs[:15])
	st := openFS(t, dir, false)
	lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
	if err != nil {
		t.Fatal(err)
	}
	if n, err := lg.Rewrite(t.Context(), file2, "key rotation", rewrap("v2")); err != nil || n != 5 {
		t.Fatalf("Rewrite = %d, %v", n, err)
	}
	lg.Close()
	st.Close()
	write(t, dir, ledger.Options{Signer: signer}, recs[15:])
	if r := verify(t, dir, []note.Verifier{verifier}, nil); !r.OK() || r.Valid != 20 || r.Rewrapped != 5 {
		t.Fatal(describe(r))
	}
}

// TestRewriteCrash: a record signed but a rewrite that never landed leaves
// the old lines, which verify; an unsigned line is refused before
// anything is written.
func TestRewriteCrash(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	recs := storetest.Records(day1, 20)
	dir := t.TempDir()
	st := openFS(t, dir, false)
	lg, err := ledger.Open(t.Context(), failingRewriter{st}, quiet(&ledger.Options{Signer: signer}))
	if err != nil {
		t.Fatal(err)
	}
	lg.Append(t.Context(), recs...)
	if _, err := lg.Rewrite(t.Context(), file1, "key rotation", rewrap("v2")); err == nil {
		t.Fatal("Rewrite over a failing store succeeded")
	}
	lg.Close()
	st.Close()
	if r := verify(t, dir, []note.Verifier{verifier}, nil); !r.OK() || r.Rewrapped != 0 || len(r.Rewrites) != 1 {
		t.Fatal(describe(r))
	}
}

// TestRewriteRefuses: an unknown segment or a reason of more than one
// line is refused, and nothing is signed.
func TestRewriteRefuses(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	recs := storetest.Records(day1, 4)
	dir := t.TempDir()
	st := openFS(t, dir, false)
	lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
	if err != nil {
		t.Fatal(err)
	}
	lg.Append(t.Context(), recs...)
	tests := []struct{ segment, reason string }{
		{"no-such-file", "x"},
		{file1, "two\nlines"},
		{file1, ""},
	}
	for _, tt := range tests {
		if _, err := lg.Rewrite(t.Context(), tt.segment, tt.reason, rewrap("v2")); err == nil {
			t.Errorf("Rewrite(%q, %q) succeeded", tt.segment, tt.reason)
		}
	}
	lg.Close()
	st.Close()
	if r := verify(t, dir, []note.Verifier{verifier}, nil); !r.OK() || len(r.Rewrites) != 0 || r.Valid != 4 {
		t.Fatal(describe(r))
	}
}

func TestParseRewrite(t *testing.T) {
	t.Parallel()
	h := strings.Repeat("ab", 32)
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"valid", "comply-rewrite/v1\no\nreason rotation\ntime 2026-03-01T00:00:00Z\nsize 5\nleaf 1 " + h + " " + h + "\nleaf 3 " + h + " " + h + "\n", true},
		{"no leaf", "comply-rewrite/v1\no\nreason r\ntime 2026-03-01T00:00:00Z\nsize 5\n", false},
		{"beyond size", "comply-rewrite/v1\no\nreason r\ntime 2026-03-01T00:00:00Z\nsize 5\nleaf 5 " + h + " " + h + "\n", false},
		{"out of order", "comply-rewrite/v1\no\nreason r\ntime 2026-03-01T00:00:00Z\nsize 5\nleaf 3 " + h + " " + h + "\nleaf 1 " + h + " " + h + "\n", false},
		{"short hash", "comply-rewrite/v1\no\nreason r\ntime 2026-03-01T00:00:00Z\nsize 5\nleaf 1 abcd " + h + "\n", false},
		{"upper hash", "comply-rewrite/v1\no\nreason r\ntime 2026-03-01T00:00:00Z\nsize 5\nleaf 1 " + strings.ToUpper(h) + " " + h + "\n", false},
		{"bad magic", "comply-rewrite/v2\no\nreason r\ntime 2026-03-01T00:00:00Z\nsize 5\nleaf 1 " + h + " " + h + "\n", false},
		{"no newline", "comply-rewrite/v1\no\nreason r\ntime 2026-03-01T00:00:00Z\nsize 5\nleaf 1 " + h + " " + h, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := ledger.ParseRewrite(tt.text)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseRewrite: %v, want ok %v", err, tt.ok)
			}
			if tt.ok && w.Text() != tt.text {
				t.Errorf("Text() = %q, want %q", w.Text(), tt.text)
			}
		})
	}
}

// TestRewriteProof: the inclusion proof of a rewrapped entry carries its
// rewrite record and verifies; without it, or against another key, it
// does not.
func TestRewriteProof(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	_, other := keys(t, "other")
	recs := storetest.Records(day1, 20)
	dir := t.TempDir()
	st := openFS(t, dir, false)
	lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
	if err != nil {
		t.Fatal(err)
	}
	lg.Append(t.Context(), recs...)
	for _, tag := range []string{"v2", "v3"} { // rewrapped twice: a chain
		if _, err := lg.Rewrite(t.Context(), file1, "rotation", rewrap(tag)); err != nil {
			t.Fatal(err)
		}
	}
	lg.Close()
	st.Close()
	ro := openFS(t, dir, true)
	defer ro.Close()
	p, err := ledger.Prove(t.Context(), ro, recs[3].ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Rewrites) != 2 || !strings.Contains(p.Line, `"v3"`) {
		t.Fatalf("proof with %d rewrite records, line %s", len(p.Rewrites), p.Line)
	}
	b, _ := p.Marshal()
	q, err := ledger.ParseProof(b)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func(p *ledger.Proof)
		vs   []note.Verifier
		ok   bool
	}{
		{"as made", func(*ledger.Proof) {}, []note.Verifier{verifier}, true},
		{"records dropped", func(p *ledger.Proof) { p.Rewrites = nil }, []note.Verifier{verifier}, false},
		{"first record dropped", func(p *ledger.Proof) { p.Rewrites = p.Rewrites[1:] }, []note.Verifier{verifier}, false},
		{"records of another key", func(*ledger.Proof) {}, []note.Verifier{verifier, other}, true},
		{"line changed", func(p *ledger.Proof) { p.Line = strings.Replace(p.Line, "model-", "forged", 1) }, []note.Verifier{verifier}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *q
			c.Rewrites = append([]string(nil), q.Rewrites...)
			tt.edit(&c)
			_, err := ledger.VerifyProof(&c, tt.vs...)
			if (err == nil) != tt.ok {
				t.Fatalf("VerifyProof: %v, want ok %v", err, tt.ok)
			}
		})
	}
	// Signed by a key the verifier does not know: refused.
	if _, err := ledger.VerifyProof(q, other); err == nil {
		t.Error("a proof verified with another key only")
	}
	// An entry never rewrapped carries no record.
	if p, err := ledger.Prove(t.Context(), ro, recs[15].ID); err != nil || len(p.Rewrites) != 0 {
		t.Fatalf("proof of a plain entry: %v, %d records", err, len(p.Rewrites))
	}
}
