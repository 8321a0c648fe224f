package s3store_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/s3store"
	"github.com/complyhq/comply/store/s3store/miniotest"
	"github.com/complyhq/comply/store/storetest"
)

// Benchmarks against the local MinIO server. Run them with
//
//	go test ./store/s3store -run '^$' -bench . -benchtime 4000x
//
// and see docs/benchmarks.md for the figures.

var benchBucket struct {
	once sync.Once
	name string
}

func benchSetup(b *testing.B) (*miniotest.Server, string) {
	srv := miniotest.Shared(b)
	srv.SetEnv(b)
	benchBucket.once.Do(func() { benchBucket.name = srv.Bucket(b, miniotest.Plain) })
	return srv, benchBucket.name
}

var benchSeq atomic.Int64

// benchRecord returns a record stamped now, as comply.Logger makes them.
func benchRecord() store.Record {
	ts := time.Now().UTC().Truncate(time.Microsecond)
	return storetest.Record(v7(ts, int(benchSeq.Add(1))), ts, "gpt-4")
}

// log64 appends n records from 64 concurrent callers, one record a call,
// and returns the time it took.
func log64(b *testing.B, s store.Store, n int) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range 64 {
		wg.Go(func() {
			for next.Add(1) <= int64(n) {
				if err := s.Append(b.Context(), benchRecord()); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkLog64 is Log with 64 concurrent callers: the batched (segments)
// layout against the per-entry (seed) layout.
func BenchmarkLog64(b *testing.B) {
	for _, layout := range []string{"segments", "seed"} {
		b.Run(layout, func(b *testing.B) {
			srv, bucket := benchSetup(b)
			s := openT(b, srv.URL(bucket, newPrefix("log64-"+layout), "layout="+layout), nil)
			defer s.Close()
			b.ResetTimer()
			el := log64(b, s, b.N)
			b.StopTimer()
			st := s.Stats()
			b.ReportMetric(float64(b.N)/el.Seconds(), "entries/s")
			b.ReportMetric(float64(st.Puts)*1000/float64(b.N), "PUTs/1k")
			b.ReportMetric(float64(b.N)/float64(st.Puts), "entries/PUT")
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkBulk is `comply log --jsonl -`: appends of 1,000 entries (the
// CLI's batch), one after the other.
func BenchmarkBulk(b *testing.B) {
	srv, bucket := benchSetup(b)
	s := openT(b, srv.URL(bucket, newPrefix("bulk")), nil)
	defer s.Close()
	batch := make([]store.Record, 1000)
	b.ResetTimer()
	start := time.Now()
	for done := 0; done < b.N; done += len(batch) {
		batch = batch[:min(1000, b.N-done)]
		for i := range batch {
			batch[i] = benchRecord()
		}
		if err := s.Append(b.Context(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	el := time.Since(start)
	b.StopTimer()
	st := s.Stats()
	b.ReportMetric(float64(b.N)/el.Seconds(), "entries/s")
	b.ReportMetric(float64(st.Puts)*500/float64(b.N), "PUTs/500")
	b.ReportMetric(0, "ns/op")
}

// A corpus is a prefix filled once for the read benchmarks.
type corpus struct {
	url  string
	ids  []string
	recs []store.Record
}

var corpora sync.Map // layout -> *corpus

// corpusSize is the entries of each layout's corpus: the seed layout takes
// a PUT per entry to fill and a GET per entry to scan.
var corpusSize = map[string]int{"segments": 20000, "seed": 5000}

func benchCorpus(b *testing.B, layout string, n int) *corpus {
	srv, bucket := benchSetup(b)
	key := layout + strconv.Itoa(n)
	if c, ok := corpora.Load(key); ok {
		return c.(*corpus)
	}
	c := &corpus{url: srv.URL(bucket, newPrefix("corpus-"+layout), "layout="+layout)}
	s := openT(b, c.url, nil)
	var mu sync.Mutex
	s.Observe(func(recs []store.Record) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			c.recs = append(c.recs, store.Record{ID: r.ID, Time: r.Time})
		}
	})
	log64(b, s, n) // segments as 64 concurrent callers make them
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	slices.SortFunc(c.recs, func(a, b store.Record) int { return a.Time.Compare(b.Time) })
	for _, r := range c.recs {
		c.ids = append(c.ids, r.ID)
	}
	corpora.Store(key, c)
	return c
}

func percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// BenchmarkGet is Get by id of random entries: "cold" on a store just
// opened (no cached listing or index), "warm" on one that has read them.
func BenchmarkGet(b *testing.B) {
	for _, layout := range []string{"segments", "seed"} {
		for _, mode := range []string{"cold", "warm"} {
			b.Run(layout+"/"+mode, func(b *testing.B) {
				c := benchCorpus(b, layout, corpusSize[layout])
				s := openT(b, c.url, &s3store.Options{ReadOnly: true})
				defer s.Close()
				ids := make([]string, b.N)
				for i := range ids {
					ids[i] = c.ids[rand.IntN(len(c.ids))]
				}
				if mode == "warm" {
					for _, id := range ids {
						if _, err := s.Get(b.Context(), id); err != nil {
							b.Fatal(err)
						}
					}
				}
				lat := make([]time.Duration, b.N)
				before := s.Stats()
				b.ResetTimer()
				for i, id := range ids {
					t0 := time.Now()
					if _, err := s.Get(b.Context(), id); err != nil {
						b.Fatal(err)
					}
					lat[i] = time.Since(t0)
				}
				b.StopTimer()
				st := s.Stats()
				b.ReportMetric(float64(percentile(lat, 0.5).Microseconds()), "p50-µs")
				b.ReportMetric(float64(percentile(lat, 0.99).Microseconds()), "p99-µs")
				b.ReportMetric(float64(st.Gets+st.Lists+st.Heads-before.Gets-before.Lists-before.Heads)/float64(b.N), "requests/op")
			})
		}
	}
}

// BenchmarkScan is a range query: all entries, and a tenth of them in the
// middle, in entries/s read. Run it with a small -benchtime (3x): each
// iteration reads the whole corpus.
func BenchmarkScan(b *testing.B) {
	for _, layout := range []string{"segments", "seed"} {
		for _, span := range []string{"all", "tenth"} {
			b.Run(layout+"/"+span, func(b *testing.B) {
				c := benchCorpus(b, layout, corpusSize[layout])
				s := openT(b, c.url, &s3store.Options{ReadOnly: true})
				defer s.Close()
				q := store.Query{}
				want := len(c.recs)
				if span == "tenth" {
					lo, hi := len(c.recs)*45/100, len(c.recs)*55/100
					q = store.Query{Start: c.recs[lo].Time, End: c.recs[hi].Time}
					want = hi - lo + 1
				}
				b.ResetTimer()
				start := time.Now()
				read := 0
				for range b.N {
					n := 0
					for _, err := range s.Scan(b.Context(), q) {
						if err != nil {
							b.Fatal(err)
						}
						n++
					}
					if n < want {
						b.Fatalf("read %d entries, want at least %d", n, want)
					}
					read += n
				}
				el := time.Since(start)
				b.ReportMetric(float64(read)/el.Seconds(), "entries/s")
			})
		}
	}
}

// BenchmarkPythonRate emulates the Python library's S3 logging: one
// PutObject of json.dumps(entry) per entry, one entry after the other, as
// S3Storage does for each `await logger.log(...)`: from Go with the SDK
// ("go"), and with Python and boto3 themselves ("boto3", if installed).
func BenchmarkPythonRate(b *testing.B) {
	b.Run("go", func(b *testing.B) {
		srv, bucket := benchSetup(b)
		prefix := newPrefix("pyemu")
		b.ResetTimer()
		start := time.Now()
		for range b.N {
			r := benchRecord()
			key := prefix + r.Time.Format("2006-01-02") + "/" + r.ID + ".json"
			if _, err := srv.Client.PutObject(b.Context(), &s3.PutObjectInput{
				Bucket: &bucket, Key: &key, Body: bytes.NewReader(r.Line), ContentType: aws.String("application/json"),
			}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "entries/s")
	})
	b.Run("boto3", func(b *testing.B) {
		if err := exec.Command("python3", "-c", "import boto3").Run(); err != nil {
			b.Skip("python3 with boto3 not installed")
		}
		srv, bucket := benchSetup(b)
		cmd := exec.Command("python3", "testdata/python_s3storage.py", srv.Endpoint, bucket, newPrefix("boto3"), strconv.Itoa(b.N))
		cmd.Env = append(os.Environ(), srv.Env()...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		f := strings.Fields(string(out))
		if len(f) < 6 {
			b.Fatalf("unexpected output %q", out)
		}
		rate, _ := strconv.ParseFloat(f[5], 64)
		b.ReportMetric(rate, "entries/s")
	})
}

func init() {
	_ = fmt.Sprint
	_ = runtime.NumCPU
}
