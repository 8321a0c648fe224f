package ledger_test

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store/storetest"
)

func TestConsistencyProof(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	recs := storetest.Records(day1, 4500) // more than a tile
	for _, part := range [][2]int{{0, 1}, {1, 1000}, {1000, 4096}, {4096, 4500}} {
		write(t, dir, ledger.Options{Signer: signer}, recs[part[0]:part[1]])
	}
	st := openFS(t, dir, true)
	defer st.Close()
	origins, err := ledger.Origins(t.Context(), st)
	if err != nil || len(origins) != 1 {
		t.Fatalf("Origins: %v %v", origins, err)
	}
	cps, err := ledger.SignedHistory(t.Context(), st, origins[0], note.VerifierList(verifier), time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) < 3 {
		t.Fatalf("%d checkpoints in the history, want several", len(cps))
	}
	for _, c := range cps {
		if _, _, err := ledger.OpenCheckpoint(c.Note, note.VerifierList(verifier)); err != nil {
			t.Fatalf("the signed note of a history checkpoint: %v", err)
		}
	}
	last := cps[len(cps)-1].Checkpoint
	for _, c := range cps {
		p, err := ledger.ProveConsistency(t.Context(), st, c.Checkpoint, last)
		if err != nil {
			t.Fatalf("from %d to %d: %v", c.Size, last.Size, err)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		q, err := ledger.ParseConsistencyProof(b)
		if err != nil {
			t.Fatal(err)
		}
		if err := ledger.VerifyConsistency(q, c.Checkpoint, last); err != nil {
			t.Fatalf("from %d to %d: %v", c.Size, last.Size, err)
		}
		if len(q.Hashes) == 0 {
			continue
		}
		bad := *q
		bad.Hashes = slices.Clone(q.Hashes)
		bad.Hashes[0] = bytes.Repeat([]byte{7}, 32)
		if err := ledger.VerifyConsistency(&bad, c.Checkpoint, last); !errors.Is(err, ledger.ErrProof) {
			t.Errorf("tampered hash from %d: %v", c.Size, err)
		}
		other := *last
		other.Root = bytes.Repeat([]byte{9}, 32)
		if err := ledger.VerifyConsistency(q, c.Checkpoint, &other); !errors.Is(err, ledger.ErrProof) {
			t.Errorf("another root from %d: %v", c.Size, err)
		}
		bad = *q
		bad.ToSize--
		if err := ledger.VerifyConsistency(&bad, c.Checkpoint, last); !errors.Is(err, ledger.ErrProof) {
			t.Errorf("another size from %d: %v", c.Size, err)
		}
	}
	if _, err := ledger.ProveConsistency(t.Context(), st, last, cps[1].Checkpoint); err == nil {
		t.Error("a proof from a larger tree to a smaller one: no error")
	}
	forged := *last
	forged.Root = bytes.Repeat([]byte{9}, 32)
	if _, err := ledger.ProveConsistency(t.Context(), st, cps[1].Checkpoint, &forged); !errors.Is(err, ledger.ErrTampered) {
		t.Errorf("a checkpoint the leaves do not produce: %v", err)
	}
}
