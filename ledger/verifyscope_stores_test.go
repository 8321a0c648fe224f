package ledger_test

import (
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/memstore"
	"github.com/complyhq/comply/store/s3store"
	"github.com/complyhq/comply/store/s3store/miniotest"
	"github.com/complyhq/comply/store/storetest"
)

// TestVerifyScopeStores: a scoped Verify reads the lines of its range
// only on the memory store and on the S3 store (MinIO; skipped without
// it), and finds a deletion by hand within the range.
func TestVerifyScopeStores(t *testing.T) {
	// Not parallel: the S3 case sets the environment.
	signer, verifier := keys(t, "prod")
	vs := []note.Verifier{verifier}
	tests := []struct {
		name string
		open func(t *testing.T) store.SidecarStore
	}{
		{"memory", func(t *testing.T) store.SidecarStore { return memstore.New(0) }},
		{"s3", func(t *testing.T) store.SidecarStore {
			srv := miniotest.Start(t)
			srv.SetEnv(t)
			st, err := s3store.Open(t.Context(), srv.URL(srv.Bucket(t, miniotest.Plain), "p"), nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := tt.open(t)
			lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
			if err != nil {
				t.Fatal(err)
			}
			var recs []store.Record
			for d := range 3 {
				recs = append(recs, storetest.Records(time.Date(2026, 3, 1+d, 10, 0, 0, 0, time.UTC), 20)...)
			}
			if err := lg.Append(t.Context(), recs...); err != nil {
				t.Fatal(err)
			}
			if err := lg.Close(); err != nil {
				t.Fatal(err)
			}
			opts := &ledger.VerifyOptions{Verifiers: vs, Start: time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 3, 0, 0, 0, 0, time.UTC).Add(-time.Nanosecond)}
			r, err := ledger.Verify(t.Context(), st, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() || r.Entries != 20 || r.Valid != 20 || r.Summary() != "1/1 files valid, 20 entries of 2026-03-02 only" {
				t.Fatal(describe(r))
			}
			// A line of the range deleted without a record; one outside it
			// too, which the scoped Verify does not see.
			for _, id := range []string{recs[25].ID, recs[45].ID} {
				if err := st.Delete(t.Context(), id); err != nil {
					t.Fatal(err)
				}
			}
			if r, err = ledger.Verify(t.Context(), st, opts); err != nil {
				t.Fatal(err)
			}
			if r.OK() || !r.Has(ledger.Missing) || len(r.Problems) != 1 || r.Problems[0].Leaf != 25 || r.Entries != 19 {
				t.Fatal(describe(r))
			}
		})
	}
}
