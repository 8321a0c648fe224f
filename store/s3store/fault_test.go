package s3store_test

import (
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/s3store"
	"github.com/complyhq/comply/store/s3store/miniotest"
	"github.com/complyhq/comply/store/storetest"
)

// faults sits between the S3 client and the real server and breaks
// segment PUTs on demand: refused (503, not sent), or sent and stored but
// the reply lost, as when a connection drops.
type faults struct {
	mu       sync.Mutex
	refuse   int // refuse the next n segment PUTs
	loseNext int // lose the replies of the next n segment PUTs
	sent     int // segment PUTs that reached the server
}

func (f *faults) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPut || !strings.Contains(r.URL.Path, "/segments/") {
		return http.DefaultTransport.RoundTrip(r)
	}
	f.mu.Lock()
	refuse, lose := f.refuse > 0, f.loseNext > 0
	if refuse {
		f.refuse--
	} else {
		f.sent++
		if lose {
			f.loseNext--
		}
	}
	f.mu.Unlock()
	if refuse {
		if r.Body != nil {
			r.Body.Close()
		}
		body := `<?xml version="1.0" encoding="UTF-8"?><Error><Code>ServiceUnavailable</Code><Message>injected</Message></Error>`
		return &http.Response{StatusCode: 503, Status: "503 Service Unavailable", Header: http.Header{"Content-Type": {"application/xml"}},
			Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil && lose {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	return resp, err
}

func faultyClient(srv *miniotest.Server, f *faults, attempts int) *s3.Client {
	return s3.New(s3.Options{
		Region:           miniotest.Region,
		BaseEndpoint:     aws.String(srv.Endpoint),
		UsePathStyle:     true,
		Credentials:      credentials.NewStaticCredentialsProvider(srv.AccessKey, srv.SecretKey, ""),
		HTTPClient:       &http.Client{Transport: f},
		RetryMaxAttempts: attempts,
	})
}

// TestLostReply: a segment PUT that reached the server but whose reply was
// lost is retried by the SDK; the conditional write refuses the retry, and
// the writer recognizes its own object by its checksum. One object, no
// duplicate, Append succeeds.
func TestLostReply(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Plain)
	f := &faults{loseNext: 1}
	prefix := newPrefix("lost")
	s := openT(t, srv.URL(bucket, prefix), &s3store.Options{Client: faultyClient(srv, f, 3)})
	defer s.Close()
	recs := recsAt(time.Now().UTC(), time.Now().UTC().Add(time.Millisecond))
	if err := s.Append(t.Context(), recs...); err != nil {
		t.Fatalf("Append after a lost reply: %v", err)
	}
	if f.sent < 2 {
		t.Fatalf("the PUT was sent %d times; want a retry", f.sent)
	}
	if keys := segmentKeys(t, srv, bucket, prefix); len(keys) != 1 {
		t.Fatalf("%d segment objects, want 1: %v", len(keys), keys)
	}
	if got := storetest.Collect(t, s, store.Query{}); !slices.Equal(storetest.IDs(got), storetest.IDs(recs)) {
		t.Fatalf("Scan = %v", storetest.IDs(got))
	}
}

// TestFailedPutRetried: a segment PUT that fails fails the Appends that
// wait for it, but the records the observer saw are not dropped: the
// segment is retried and stored once the server is back, in order.
func TestFailedPutRetried(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Plain)
	f := &faults{refuse: 2}
	prefix := newPrefix("failed")
	s := openT(t, srv.URL(bucket, prefix), &s3store.Options{Client: faultyClient(srv, f, 1)})
	defer s.Close()
	var observed []string
	s.Observe(func(recs []store.Record) {
		for _, r := range recs {
			observed = append(observed, r.ID)
		}
	})
	now := time.Now().UTC()
	first := recsAt(now, now.Add(time.Millisecond))
	err := s.Append(t.Context(), first...)
	if err == nil || !strings.Contains(err.Error(), "ServiceUnavailable") {
		t.Fatalf("Append with the server refusing: %v", err)
	}
	// The retry of the first segment (after a backoff) and a later
	// Append's segment get through once the refusals are used up.
	deadline := time.Now().Add(10 * time.Second)
	for k := 2; ; k += 2 {
		err = s.Append(t.Context(), recsAt(now.Add(time.Duration(k)*time.Millisecond), now.Add(time.Duration(k+1)*time.Millisecond))...)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("Append after the server came back: %v", err)
	}
	got := storetest.IDs(storetest.Collect(t, s, store.Query{}))
	if !slices.Equal(got, observed) {
		t.Fatalf("stored %v, observed %v", got, observed)
	}
	for _, r := range first {
		if !slices.Contains(got, r.ID) {
			t.Fatalf("the records of the failed Append were dropped")
		}
	}
	if n := mustCount(t, s); n != int64(len(observed)) {
		t.Fatalf("Count = %d, want %d", n, len(observed))
	}
}
