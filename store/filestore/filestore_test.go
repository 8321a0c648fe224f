package filestore_test

import (
	"sync"
	"testing"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

func openT(t *testing.T, dir string, opts *filestore.Options) *filestore.Store {
	t.Helper()
	s, err := filestore.Open(t.Context(), dir, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	t.Parallel()
	stall := func(t *testing.T, s store.Store) func() { return filestore.Stall(s.(*filestore.Store)) }
	for _, d := range []filestore.Durability{filestore.Always, filestore.Interval, filestore.None} {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			var dirs sync.Map // store.Store -> its directory
			storetest.Run(t, storetest.Harness{
				New: func(t *testing.T) store.Store {
					dir := t.TempDir()
					s := openT(t, dir, &filestore.Options{Durability: d})
					dirs.Store(s, dir)
					return s
				},
				Reopen: func(t *testing.T, s store.Store) store.Store {
					if err := s.Close(); err != nil {
						t.Fatalf("Close: %v", err)
					}
					dir, _ := dirs.Load(s)
					return openT(t, dir.(string), &filestore.Options{Durability: d})
				},
				DayPartitions: true,
				Stall:         stall,
			})
		})
	}
	t.Run("small-rotation", func(t *testing.T) {
		t.Parallel()
		storetest.Run(t, storetest.Harness{
			New: func(t *testing.T) store.Store {
				return openT(t, t.TempDir(), &filestore.Options{RotationSize: 2048, MaxLineSize: 4096})
			},
			MaxLine:       4096,
			DayPartitions: true,
			Stall:         stall,
		})
	})
}
