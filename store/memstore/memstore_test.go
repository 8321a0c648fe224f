package memstore_test

import (
	"testing"
	"time"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/memstore"
	"github.com/complyhq/comply/store/storetest"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) store.Store { return memstore.New(0) },
	})
}

func TestMaxEntriesEvictsOldest(t *testing.T) {
	t.Parallel()
	s := memstore.New(3)
	defer s.Close()
	recs := storetest.Records(time.Date(2026, 1, 29, 10, 0, 0, 0, time.UTC), 5)
	for _, r := range recs {
		if err := s.Append(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.Count(t.Context()); n != 3 {
		t.Fatalf("Count = %d, want 3", n)
	}
	for i, r := range recs {
		_, err := s.Get(t.Context(), r.ID)
		if evicted := i < 2; evicted != (err != nil) {
			t.Errorf("record %d: Get error %v, evicted=%v", i, err, evicted)
		}
	}
}
