package ledger_test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/storetest"
)

// TestVerifyScope checks a Verify scoped to one day of three: what
// changed within the day is found, what changed outside it is not read
// (a Verify of every line finds it), and deletions by policy stay policy.
func TestVerifyScope(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	vs := []note.Verifier{verifier}
	days := []time.Time{
		time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC),
		time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC),
	}
	byDay := make([][]store.Record, len(days))
	var all []store.Record
	for i, d := range days {
		byDay[i] = storetest.Records(d, 20)
		all = append(all, byDay[i]...)
	}
	const (
		fileA = "audit_20260301.jsonl"
		fileB = "audit_20260302.jsonl" // the scope's day
		fileC = "audit_20260303.jsonl"
	)
	dayB := ledger.VerifyOptions{Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond)}
	change := func(name string, i int) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			editFile(t, dir, name, func(ls [][]byte) [][]byte {
				ls[i] = bytes.Replace(ls[i], []byte("model-"), []byte("forged"), 1)
				return ls
			})
		}
	}
	drop := func(name string, i int) func(*testing.T, string) {
		return func(t *testing.T, dir string) {
			editFile(t, dir, name, func(ls [][]byte) [][]byte { return slices.Delete(ls, i, i+1) })
		}
	}
	tests := []struct {
		name   string
		scope  *ledger.VerifyOptions // nil: dayB
		writer func(*testing.T, *ledger.Ledger)
		tamper func(*testing.T, string)
		// want checks the scoped report; whole, if set, the report of
		// every line.
		want, whole func(*testing.T, *ledger.Report)
	}{
		{name: "clean", want: func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Entries != 20 || r.Valid != 20 || len(r.Files) != 1 || r.Files[0].Name != fileB {
				t.Fatal(describe(r))
			}
			if r.Scope == nil || !r.Scope.Start.Equal(dayB.Start) || !r.Scope.End.Equal(dayB.End) {
				t.Errorf("scope %+v", r.Scope)
			}
			if got := r.Summary(); got != "1/1 files valid, 20 entries of 2026-03-02 only" {
				t.Errorf("summary %q", got)
			}
		}, whole: func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Entries != 60 || r.Scope != nil || r.Summary() != "3/3 files valid, 60 entries" {
				t.Fatal(describe(r))
			}
		}},
		{name: "open scope: from the last day", scope: &ledger.VerifyOptions{Start: days[2].Truncate(24 * time.Hour)},
			want: func(t *testing.T, r *ledger.Report) {
				if !r.OK() || r.Entries != 20 || r.Summary() != "1/1 files valid, 20 entries of 2026-03-03 onwards only" {
					t.Fatal(describe(r))
				}
			}},
		{name: "open scope: until noon of the first day", scope: &ledger.VerifyOptions{End: days[0].Add(10 * time.Second)},
			want: func(t *testing.T, r *ledger.Report) {
				if !r.OK() || r.Entries != 11 || r.Summary() != "1/1 files valid, 11 entries up to 2026-03-01T10:00:10Z only" {
					t.Fatal(describe(r))
				}
			}},
		{name: "a line changed within the scope", tamper: change(fileB, 5), want: func(t *testing.T, r *ledger.Report) {
			if r.OK() || !r.Has(ledger.Modified) || len(r.Problems) != 1 || r.Problems[0].File != fileB || r.Problems[0].Line != 6 {
				t.Fatal(describe(r))
			}
		}},
		{name: "a line changed outside the scope is not read", tamper: change(fileA, 5), want: func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Entries != 20 || r.Scope == nil {
				t.Fatal(describe(r))
			}
		}, whole: func(t *testing.T, r *ledger.Report) {
			if r.OK() || !r.Has(ledger.Modified) {
				t.Fatal(describe(r))
			}
		}},
		{name: "a line deleted within the scope is missing", tamper: drop(fileB, 7), want: func(t *testing.T, r *ledger.Report) {
			if r.OK() || !r.Has(ledger.Missing) || r.Problems[0].Count != 1 || r.Problems[0].Leaf != 27 {
				t.Fatal(describe(r))
			}
		}},
		{name: "the first line of the scope deleted", tamper: drop(fileB, 0), want: func(t *testing.T, r *ledger.Report) {
			if r.OK() || !r.Has(ledger.Missing) || r.Problems[0].Leaf != 20 {
				t.Fatal(describe(r))
			}
		}},
		{name: "the last line of the scope deleted", tamper: drop(fileB, 19), want: func(t *testing.T, r *ledger.Report) {
			if r.OK() || !r.Has(ledger.Truncated) || r.Problems[0].Leaf != 39 {
				t.Fatal(describe(r))
			}
		}},
		{name: "a line deleted outside the scope is not missing", tamper: drop(fileC, 3), want: func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Valid != 20 {
				t.Fatal(describe(r))
			}
		}, whole: func(t *testing.T, r *ledger.Report) {
			if r.OK() || !r.Has(ledger.Missing) {
				t.Fatal(describe(r))
			}
		}},
		{name: "the scope's file deleted", tamper: func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, fileB)) },
			want: func(t *testing.T, r *ledger.Report) {
				if r.OK() || !r.Has(ledger.FileDeleted) || r.Entries != 0 || r.Problems[0].Count != 20 {
					t.Fatal(describe(r))
				}
			}},
		{name: "a line inserted within the scope", tamper: func(t *testing.T, dir string) {
			editFile(t, dir, fileB, func(ls [][]byte) [][]byte {
				r := storetest.Records(days[1].Add(500*time.Millisecond), 1)[0]
				return slices.Insert(ls, 1, append(r.Line, '\n'))
			})
		}, want: func(t *testing.T, r *ledger.Report) {
			if r.OK() || !r.Has(ledger.Inserted) || len(r.Problems) != 1 {
				t.Fatal(describe(r))
			}
		}},
		{name: "retention deletions stay policy", writer: func(t *testing.T, lg *ledger.Ledger) {
			// The first day whole and 5 entries of the scope's.
			if n, err := lg.Expire(t.Context(), byDay[1][5].Time); err != nil || n != 25 {
				t.Fatalf("Expire = %d, %v", n, err)
			}
		}, want: func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Valid != 15 || r.Deleted != 25 {
				t.Fatal(describe(r))
			}
		}},
		{name: "a deletion on request within the scope", writer: func(t *testing.T, lg *ledger.Ledger) {
			if err := lg.Delete(t.Context(), byDay[1][3].ID); err != nil {
				t.Fatal(err)
			}
		}, want: func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Valid != 19 || r.Deleted != 1 {
				t.Fatal(describe(r))
			}
		}},
		{name: "rewrapped lines within the scope verify", writer: func(t *testing.T, lg *ledger.Ledger) {
			if n, err := lg.Rewrite(t.Context(), fileB, "key rotation", rewrap("v2")); err != nil || n != 20 {
				t.Fatalf("Rewrite = %d, %v", n, err)
			}
		}, want: func(t *testing.T, r *ledger.Report) {
			if !r.OK() || r.Valid != 20 || r.Rewrapped != 20 {
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
			if err := lg.Append(t.Context(), all...); err != nil {
				t.Fatal(err)
			}
			if tt.writer != nil {
				tt.writer(t, lg)
			}
			lg.Close()
			st.Close()
			if tt.tamper != nil {
				tt.tamper(t, dir)
			}
			scope := &dayB
			if tt.scope != nil {
				scope = tt.scope
			}
			tt.want(t, verifyScoped(t, dir, vs, scope.Start, scope.End))
			if tt.whole != nil {
				tt.whole(t, verify(t, dir, vs, nil))
			}
		})
	}
}

// verifyScoped is verify with a scope.
func verifyScoped(t *testing.T, dir string, vs []note.Verifier, start, end time.Time) *ledger.Report {
	t.Helper()
	st := openFS(t, dir, true)
	defer st.Close()
	r, err := ledger.Verify(t.Context(), st, &ledger.VerifyOptions{
		Verifiers: vs, Start: start, End: end,
		FileName: func(d time.Time) string { return "audit_" + d.Format("20060102") + ".jsonl" },
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
