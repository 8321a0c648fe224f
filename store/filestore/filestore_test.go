package filestore_test

import (
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
	for _, d := range []filestore.Durability{filestore.Always, filestore.Interval, filestore.None} {
		t.Run(d.String(), func(t *testing.T) {
			dirs := map[store.Store]string{}
			storetest.Run(t, storetest.Harness{
				New: func(t *testing.T) store.Store {
					dir := t.TempDir()
					s := openT(t, dir, &filestore.Options{Durability: d})
					dirs[s] = dir
					return s
				},
				Reopen: func(t *testing.T, s store.Store) store.Store {
					if err := s.Close(); err != nil {
						t.Fatalf("Close: %v", err)
					}
					return openT(t, dirs[s], &filestore.Options{Durability: d})
				},
			})
		})
	}
	t.Run("small-rotation", func(t *testing.T) {
		storetest.Run(t, storetest.Harness{
			New: func(t *testing.T) store.Store {
				return openT(t, t.TempDir(), &filestore.Options{RotationSize: 2048})
			},
		})
	})
}
