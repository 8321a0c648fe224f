package s3store_test

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/s3store"
	"github.com/complyhq/comply/store/s3store/miniotest"
	"github.com/complyhq/comply/store/storetest"
)

func TestMain(m *testing.M) {
	if os.Getenv(writerEnv) != "" {
		os.Exit(writerMain())
	}
	if os.Getenv(ledgerWriterEnv) != "" {
		os.Exit(ledgerWriterMain())
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

// gate sits between the S3 client and the server and, while stalled,
// holds the PUTs of entries (not of blobs) as a slow bucket would.
type gate struct {
	mu   sync.Mutex
	wait chan struct{} // nil when open
}

func (g *gate) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && !strings.Contains(r.URL.Path, "/_comply/") {
		g.mu.Lock()
		wait := g.wait
		g.mu.Unlock()
		if wait != nil {
			select {
			case <-wait:
			case <-r.Context().Done():
				return nil, r.Context().Err()
			}
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (g *gate) stall() (release func()) {
	wait := make(chan struct{})
	g.mu.Lock()
	g.wait = wait
	g.mu.Unlock()
	return func() {
		g.mu.Lock()
		g.wait = nil
		g.mu.Unlock()
		close(wait)
	}
}

func gatedClient(srv *miniotest.Server, g *gate) *s3.Client {
	return s3.New(s3.Options{
		Region:       miniotest.Region,
		BaseEndpoint: aws.String(srv.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
		HTTPClient:   &http.Client{Transport: g},
	})
}

func TestConformance(t *testing.T) {
	t.Parallel()
	srv := miniotest.Shared(t)
	plain := srv.Bucket(t, miniotest.Plain)
	locked := srv.Bucket(t, miniotest.Locked)
	tests := []struct {
		name    string
		bucket  string
		params  []string
		maxLine int
	}{
		{"segments-always", plain, nil, s3store.MaxLineSize},
		{"segments-interval", plain, []string{"durability=interval", "flush_ms=50"}, 0},
		{"segments-none", plain, []string{"durability=none"}, 0},
		{"segments-small", plain, []string{"flush_bytes=2048"}, 0},
		{"segments-named-writer", plain, []string{"writer=app-1"}, 0},
		{"segments-versioned", locked, nil, 0},
		{"seed", plain, []string{"layout=seed"}, 0},
		{"seed-versioned", locked, []string{"layout=seed"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			type opened struct {
				url  string
				gate *gate
			}
			var stores sync.Map // store.Store -> opened
			storetest.Run(t, storetest.Harness{
				New: func(t *testing.T) store.Store {
					o := opened{url: srv.URL(tt.bucket, newPrefix(tt.name), tt.params...), gate: &gate{}}
					s := openT(t, o.url, &s3store.Options{Client: gatedClient(srv, o.gate)})
					stores.Store(s, o)
					return s
				},
				Reopen: func(t *testing.T, s store.Store) store.Store {
					if err := s.Close(); err != nil {
						t.Fatalf("Close: %v", err)
					}
					o, _ := stores.Load(s)
					return openT(t, o.(opened).url, &s3store.Options{Client: gatedClient(srv, o.(opened).gate)})
				},
				MaxLine:       tt.maxLine,
				DayPartitions: true,
				Stall: func(t *testing.T, s store.Store) func() {
					o, _ := stores.Load(s)
					return o.(opened).gate.stall()
				},
			})
		})
	}
}
