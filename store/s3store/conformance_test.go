package s3store_test

import (
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/s3store"
	"github.com/complyhq/comply/store/s3store/internal/miniotest"
	"github.com/complyhq/comply/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(writerEnv) != "" {
		os.Exit(writerMain())
	}
	os.Exit(miniotest.Main(m))
}

var prefixSeq atomic.Int64

// newPrefix returns a fresh prefix within a bucket.
func newPrefix(name string) string {
	return fmt.Sprintf("t%d-%s/", prefixSeq.Add(1), name)
}

func openT(t testing.TB, url string, opts *s3store.Options) *s3store.Store {
	t.Helper()
	s, err := s3store.Open(t.Context(), url, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	plain := srv.Bucket(t, miniotest.Plain)
	locked := srv.Bucket(t, miniotest.Locked)
	tests := []struct {
		name   string
		bucket string
		params []string
	}{
		{"segments-always", plain, nil},
		{"segments-interval", plain, []string{"durability=interval", "flush_ms=50"}},
		{"segments-none", plain, []string{"durability=none"}},
		{"segments-small", plain, []string{"flush_bytes=2048"}},
		{"segments-named-writer", plain, []string{"writer=app-1"}},
		{"segments-versioned", locked, nil},
		{"seed", plain, []string{"layout=seed"}},
		{"seed-versioned", locked, []string{"layout=seed"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			urls := map[store.Store]string{}
			storetest.Run(t, storetest.Harness{
				New: func(t *testing.T) store.Store {
					u := srv.URL(tt.bucket, newPrefix(tt.name), tt.params...)
					s := openT(t, u, nil)
					urls[s] = u
					return s
				},
				Reopen: func(t *testing.T, s store.Store) store.Store {
					if err := s.Close(); err != nil {
						t.Fatalf("Close: %v", err)
					}
					return openT(t, urls[s], nil)
				},
			})
		})
	}
}
