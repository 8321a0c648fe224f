package evidence

import (
	"cmp"
	"container/heap"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"slices"
	"time"

	"github.com/complyhq/comply/store"
)

// Sample returns a deterministic sample of n of the records whose times
// fall in [start, end] (inclusive; a zero bound is unbounded), oldest
// first: the n records of smallest SHA-256(seed as 8 big-endian bytes,
// id). The same store, range, n and seed give the same sample, whatever
// the order the store yields its records in; memory holds n records.
func Sample(ctx context.Context, st store.Store, start, end time.Time, n int, seed uint64) ([]store.Record, error) {
	if n <= 0 {
		return nil, nil
	}
	var h sampleHeap
	var key [8]byte
	binary.BigEndian.PutUint64(key[:], seed)
	for rec, err := range st.Scan(ctx, store.Query{Start: start, End: end}) {
		if err != nil {
			return nil, fmt.Errorf("evidence: sample: %w", err)
		}
		s := sha256.New()
		s.Write(key[:])
		s.Write([]byte(rec.ID))
		var k [32]byte
		s.Sum(k[:0])
		switch {
		case len(h) < n:
			heap.Push(&h, sampled{k, rec})
		case cmp.Compare(string(k[:]), string(h[0].key[:])) < 0:
			h[0] = sampled{k, rec}
			heap.Fix(&h, 0)
		}
	}
	out := make([]store.Record, len(h))
	for i := range h {
		out[i] = h[i].rec
	}
	slices.SortFunc(out, func(a, b store.Record) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

type sampled struct {
	key [32]byte
	rec store.Record
}

// sampleHeap is a max-heap on the key: its top is the sampled record to
// drop first.
type sampleHeap []sampled

func (h sampleHeap) Len() int           { return len(h) }
func (h sampleHeap) Less(i, j int) bool { return string(h[i].key[:]) > string(h[j].key[:]) }
func (h sampleHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *sampleHeap) Push(x any)        { *h = append(*h, x.(sampled)) }
func (h *sampleHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
