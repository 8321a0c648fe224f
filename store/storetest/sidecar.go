package storetest

import (
	"bytes"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/complyhq/comply/store"
)

func testSidecar(t *testing.T, h Harness) {
	s := open(t, h)
	sc, ok := s.(store.Sidecar)
	if !ok {
		t.Skip("store does not implement store.Sidecar")
	}
	ctx := t.Context()
	if _, err := sc.ReadBlob(ctx, "ledger/none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ReadBlob of a missing blob: %v", err)
	}
	for _, bad := range []string{"", "/abs", "a/../b", "a//b", "sp ace", "dir/"} {
		if err := sc.WriteBlob(ctx, bad, []byte("x")); err == nil {
			t.Errorf("WriteBlob(%q) accepted a bad name", bad)
		}
	}
	blobs := map[string][]byte{
		"ledger/checkpoint":      []byte("one"),
		"ledger/leaves/00000000": bytes.Repeat([]byte{7}, 4096),
		"ledger/leaves/00000001": {},
		"other/x.json":           []byte("{}"),
	}
	for name, data := range blobs {
		if err := sc.WriteBlob(ctx, name, data); err != nil {
			t.Fatalf("WriteBlob(%s): %v", name, err)
		}
	}
	if err := sc.WriteBlob(ctx, "ledger/checkpoint", []byte("two")); err != nil {
		t.Fatal(err)
	}
	blobs["ledger/checkpoint"] = []byte("two")
	for name, want := range blobs {
		got, err := sc.ReadBlob(ctx, name)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("ReadBlob(%s) = %q, %v", name, got, err)
		}
	}
	names, err := sc.ListBlobs(ctx, "ledger/")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ledger/checkpoint", "ledger/leaves/00000000", "ledger/leaves/00000001"}
	if !slices.Equal(names, want) {
		t.Fatalf("ListBlobs = %v, want %v", names, want)
	}
	// Blobs are not entries.
	if n := count(t, s); n != 0 {
		t.Fatalf("blobs counted as entries: %d", n)
	}
	if got := Collect(t, s, store.Query{}); len(got) != 0 {
		t.Fatalf("blobs scanned as entries")
	}
}

func testObserve(t *testing.T, h Harness) {
	s := open(t, h)
	obs, ok := s.(store.Observable)
	if !ok {
		t.Skip("store does not implement store.Observable")
	}
	var mu sync.Mutex
	var seen []string
	obs.Observe(func(recs []store.Record) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			seen = append(seen, r.ID)
		}
	})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			recs := Records(base.Add(time.Hour+time.Duration(w)*time.Minute), 25)
			for i := 0; i < len(recs); i += 5 {
				if err := s.Append(t.Context(), recs[i:i+5]...); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	if len(seen) != 100 {
		t.Fatalf("observed %d records, want 100", len(seen))
	}
	// All 100 are stamped within one UTC day, so the store holds them in
	// one partition in write order: the order observed.
	if got := IDs(Collect(t, s, store.Query{})); !slices.Equal(got, seen) {
		t.Fatalf("observed order differs from storage order")
	}
}
