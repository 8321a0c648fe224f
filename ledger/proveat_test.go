package ledger_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/storetest"
)

// TestProveAt proves records in one batch and checks each proof against
// the one Prove makes alone and against VerifyProof.
func TestProveAt(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	recs := storetest.Records(day1, 4500)                      // more than a tile
	write(t, dir, ledger.Options{Signer: signer}, recs[:3000]) // a checkpoint of 3000 at close
	write(t, dir, ledger.Options{Signer: signer}, recs[3000:])
	st := openFS(t, dir, true)
	defer st.Close()
	origins, err := ledger.Origins(t.Context(), st)
	if err != nil || len(origins) != 1 {
		t.Fatalf("origins %v: %v", origins, err)
	}
	cps, err := ledger.SignedHistory(t.Context(), st, origins[0], note.VerifierList(verifier), time.Time{}, time.Time{})
	if err != nil || len(cps) == 0 {
		t.Fatalf("history: %d, %v", len(cps), err)
	}
	newest := cps[len(cps)-1]
	older := cps[slices.IndexFunc(cps, func(c ledger.SignedCheckpoint) bool { return c.Size == 3000 })]
	stranger := storetest.Records(day1.Add(48*time.Hour), 1)[0] // signed by no checkpoint
	tests := []struct {
		name  string
		cp    ledger.SignedCheckpoint
		pick  []int // indexes into recs; -1 is the stranger
		nils  []int // positions of pick that get no proof
		alone bool  // compare with Prove (against the newest checkpoint)
	}{
		{"one record", newest, []int{4096}, nil, true},
		{"a batch across tiles", newest, []int{0, 1, 2, 1000, 4095, 4096, 4499}, nil, true},
		{"the same record twice", newest, []int{7, 7}, nil, true},
		{"a record no checkpoint signs", newest, []int{3, -1}, []int{1}, true},
		{"an older checkpoint", older, []int{0, int(older.Size) - 1, int(older.Size)}, []int{2}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := make([]store.Record, len(tt.pick))
			for i, k := range tt.pick {
				if k < 0 {
					in[i] = stranger
				} else {
					in[i] = recs[k]
				}
			}
			ps, err := ledger.ProveAt(t.Context(), st, tt.cp, in)
			if err != nil {
				t.Fatal(err)
			}
			for i, p := range ps {
				if slices.Contains(tt.nils, i) {
					if p != nil {
						t.Errorf("record %d: a proof, want none", tt.pick[i])
					}
					continue
				}
				if p == nil {
					t.Fatalf("record %d: no proof", tt.pick[i])
				}
				if p.LeafIndex != uint64(tt.pick[i]) || p.TreeSize != tt.cp.Size {
					t.Errorf("record %d: leaf %d of %d", tt.pick[i], p.LeafIndex, p.TreeSize)
				}
				if _, err := ledger.VerifyProof(p, verifier); err != nil {
					t.Errorf("record %d: %v", tt.pick[i], err)
				}
				if !tt.alone {
					continue
				}
				q, err := ledger.Prove(t.Context(), st, in[i].ID)
				if err != nil {
					t.Fatal(err)
				}
				a, _ := p.Marshal()
				b, _ := q.Marshal()
				if string(a) != string(b) {
					t.Errorf("record %d: ProveAt and Prove differ", tt.pick[i])
				}
			}
		})
	}
}

// BenchmarkProveAt measures proofs of n records against one checkpoint of
// a 100k-leaf ledger: one pass over the leaves whatever n.
func BenchmarkProveAt(b *testing.B) {
	const size = 100_000
	dir, _, v := benchDir(b, size)
	st := openFS(b, dir, true)
	defer st.Close()
	origins, err := ledger.Origins(b.Context(), st)
	if err != nil || len(origins) != 1 {
		b.Fatal(origins, err)
	}
	cps, err := ledger.SignedHistory(b.Context(), st, origins[0], note.VerifierList(v), time.Time{}, time.Time{})
	if err != nil || len(cps) == 0 {
		b.Fatal(err)
	}
	var all []store.Record
	for rec, err := range st.Scan(b.Context(), store.Query{}) {
		if err != nil {
			b.Fatal(err)
		}
		all = append(all, rec)
	}
	for _, n := range []int{1, 25, 250} {
		recs := make([]store.Record, n)
		for i := range recs {
			recs[i] = all[(i*7919)%len(all)]
		}
		b.Run(fmt.Sprintf("proofs=%d", n), func(b *testing.B) {
			for b.Loop() {
				ps, err := ledger.ProveAt(b.Context(), st, cps[len(cps)-1], recs)
				if err != nil || ps[n-1] == nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n)/1e6, "ms/proof")
		})
	}
}

// TestVerifyProve checks the proofs Verify makes in its pass over the
// tree (VerifyOptions.Prove) against ProveAt's, scoped or not.
func TestVerifyProve(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	recs := storetest.Records(day1, 4500)
	write(t, dir, ledger.Options{Signer: signer}, recs)
	st := openFS(t, dir, true)
	defer st.Close()
	origins, err := ledger.Origins(t.Context(), st)
	if err != nil || len(origins) != 1 {
		t.Fatalf("origins %v: %v", origins, err)
	}
	cps, err := ledger.SignedHistory(t.Context(), st, origins[0], note.VerifierList(verifier), time.Time{}, time.Time{})
	if err != nil || len(cps) == 0 {
		t.Fatalf("history: %d, %v", len(cps), err)
	}
	stranger := storetest.Records(day1.Add(48*time.Hour), 1)[0]
	tests := []struct {
		name       string
		in         []store.Record
		start, end time.Time
	}{
		{"none", nil, time.Time{}, time.Time{}},
		{"a batch", []store.Record{recs[0], recs[4095], recs[4096], recs[4499]}, time.Time{}, time.Time{}},
		{"a record no checkpoint signs, and one without a line", []store.Record{recs[9], stranger, {}}, time.Time{}, time.Time{}},
		{"scoped: records outside the scope are proved too", []store.Record{recs[1], recs[4000]}, recs[3000].Time, recs[3100].Time},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := ledger.Verify(t.Context(), st, &ledger.VerifyOptions{Verifiers: []note.Verifier{verifier}, Prove: tt.in, Start: tt.start, End: tt.end})
			if err != nil || !r.OK() {
				t.Fatal(err, describe(r))
			}
			if len(r.Proofs) != len(tt.in) {
				t.Fatalf("%d proofs for %d records", len(r.Proofs), len(tt.in))
			}
			want, err := ledger.ProveAt(t.Context(), st, cps[len(cps)-1], tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for i := range tt.in {
				if (r.Proofs[i] == nil) != (want[i] == nil) {
					t.Fatalf("record %d: proof %v, ProveAt's %v", i, r.Proofs[i] != nil, want[i] != nil)
				}
				if want[i] == nil {
					continue
				}
				a, _ := r.Proofs[i].Marshal()
				b, _ := want[i].Marshal()
				if string(a) != string(b) {
					t.Errorf("record %d: Verify's proof differs from ProveAt's", i)
				}
				if _, err := ledger.VerifyProof(r.Proofs[i], verifier); err != nil {
					t.Errorf("record %d: %v", i, err)
				}
			}
		})
	}
	// A ledger the verifier cannot trust proves nothing.
	_, other := keys(t, "other")
	r, err := ledger.Verify(t.Context(), st, &ledger.VerifyOptions{Verifiers: []note.Verifier{other}, Prove: recs[:2]})
	if err != nil || r.OK() || len(r.Proofs) != 2 || r.Proofs[0] != nil || r.Proofs[1] != nil {
		t.Fatalf("untrusted ledger: %v, %d proofs", err, len(r.Proofs))
	}
}
