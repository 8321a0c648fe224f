package comply_test

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/s3store"
	"github.com/complyhq/comply/store/s3store/miniotest"
)

// Benchmarks of issue #13 not in rollup_bench_test.go. Each does its work
// once; run them with -benchtime 1x:
//
//	go test -run '^$' -bench 'StatsS3|WritePathCost' -benchtime 1x .

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// logSpread logs n entries with LogBatch in batches of 1,000, spread
// evenly over the 30 days before 2026-01-01, as benchDir does.
func logSpread(b *testing.B, l *comply.Logger, n int) {
	rng := rand.New(rand.NewPCG(1, 2))
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	models := []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet", "claude-haiku", "llama-3"}
	providers := []string{"openai", "openai", "anthropic", "anthropic", "meta"}
	const batch = 1000
	span := 30 * 24 * time.Hour
	for i := 0; i < n; i += batch {
		ins := make([]comply.Interaction, 0, batch)
		for j := range min(batch, n-i) {
			m := rng.IntN(len(models))
			ins = append(ins, comply.Interaction{
				Input: "q", Output: "a", Provider: providers[m], Model: models[m],
				SafetyFailed: rng.IntN(50) == 0,
				Time:         end.Add(-span + time.Duration(int64(i+j)*int64(span)/int64(n))),
				Latency:      time.Duration(rng.ExpFloat64() * float64(400*time.Millisecond)),
				InputTokens:  comply.Tokens(rng.IntN(2000)), OutputTokens: comply.Tokens(rng.IntN(800)),
			})
		}
		if _, err := l.LogBatch(b.Context(), ins...); err != nil {
			b.Fatal(err)
		}
	}
}

func median(ds []time.Duration) time.Duration {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	return ds[len(ds)/2]
}

// BenchmarkStatsS3 is Stats over COMPLY_BENCH_S3_ENTRIES entries
// (default 1,000,000) on the S3 store, against a local MinIO: the entries
// are logged with LogBatch, a new writer's first background pass writes
// the summary blobs, then Stats runs "cold" five times, each in a new
// read-only store and Logger (the store's Open timed apart).
func BenchmarkStatsS3(b *testing.B) {
	n := envInt("COMPLY_BENCH_S3_ENTRIES", 1_000_000)
	srv := miniotest.Start(b)
	srv.SetEnv(b)
	url := srv.URL(srv.Bucket(b, miniotest.Plain), "stats")
	var last *s3store.Store
	openLogger := func(ro bool) *comply.Logger {
		s, err := s3store.Open(b.Context(), url, &s3store.Options{ReadOnly: ro})
		if err != nil {
			b.Fatal(err)
		}
		last = s
		l, err := comply.New(s, &comply.Options{RetentionDays: -1})
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	for b.Loop() {
		w := openLogger(false)
		start := time.Now()
		logSpread(b, w, n)
		b.Logf("logged %d entries in %v", n, time.Since(start))
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		start = time.Now()
		w = openLogger(false)
		comply.WaitSummaries(w)
		pass := time.Since(start)
		segs, err := last.Segments(b.Context(), store.Query{})
		if err != nil {
			b.Fatal(err)
		}
		w.Close()
		b.Logf("%d segments", len(segs))
		since := time.Date(2025, 12, 1, 17, 23, 0, 0, time.UTC) // cuts an hour
		var opens, stats []time.Duration
		for range 5 {
			t0 := time.Now()
			l := openLogger(true)
			t1 := time.Now()
			st, err := l.Stats(b.Context(), since)
			t2 := time.Now()
			if err != nil || st.TotalEntries != int64(n) {
				b.Fatalf("Stats: %d entries, %v", st.TotalEntries, err)
			}
			l.Close()
			opens, stats = append(opens, t1.Sub(t0)), append(stats, t2.Sub(t1))
		}
		b.Logf("writer's first pass %v; cold Stats %v (open %v)", pass, stats, opens)
		b.ReportMetric(pass.Seconds(), "pass-s")
		b.ReportMetric(float64(median(stats).Microseconds())/1000, "stats-ms")
		b.ReportMetric(float64(median(opens).Microseconds())/1000, "open-ms")
	}
}

// BenchmarkWritePathCost measures what keeping rollups and skip filters
// costs the log rate, in one run: hash-only Log (Durability None, 2 ×
// GOMAXPROCS callers) of COMPLY_BENCH_WRITE_ENTRIES entries (default
// 200,000) into a file store rotating every 1 MiB, so that segments seal
// as it goes, with the writer's background summary pass off (it runs once
// at open, over nothing) or on (every 100 ms, so that it follows the
// sealed segments). Rounds alternate off/on, COMPLY_BENCH_ROUNDS of each
// (default 3). "on" is timed twice: the logging alone, and the logging
// plus the wait for the pass to have summarised every sealed segment (the
// whole work).
func BenchmarkWritePathCost(b *testing.B) {
	n := envInt("COMPLY_BENCH_WRITE_ENTRIES", 200_000)
	rounds := envInt("COMPLY_BENCH_ROUNDS", 3)
	in := benchInteraction()
	run := func(on bool) (logged, whole time.Duration, segs int) {
		interval := time.Hour
		if on {
			interval = 100 * time.Millisecond
		}
		defer comply.SetSummaryInterval(interval)()
		dir := b.TempDir()
		s, err := filestore.Open(b.Context(), dir, &filestore.Options{Durability: filestore.None, RotationSize: 1 << 20})
		if err != nil {
			b.Fatal(err)
		}
		l, err := comply.New(s, nil)
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		comply.WaitSummaries(l)
		var next atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		for range 2 * runtime.GOMAXPROCS(0) {
			wg.Go(func() {
				for next.Add(1) <= int64(n) {
					if _, err := l.Log(b.Context(), in); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		logged = time.Since(start)
		sg, err := s.Segments(b.Context(), store.Query{})
		if err != nil {
			b.Fatal(err)
		}
		// "on": wait for the background pass to have written both
		// summaries of every sealed segment.
		for _, seg := range sg {
			for _, kind := range []string{"rollup", "skipfilter"} {
				for on && seg.Sealed {
					if _, err := os.Stat(filepath.Join(dir, ".comply", "blobs", "summary", kind, seg.Name)); err == nil {
						break
					}
					time.Sleep(5 * time.Millisecond)
				}
			}
		}
		whole = time.Since(start)
		return logged, whole, len(sg)
	}
	for b.Loop() {
		var off, on, onWhole []time.Duration
		for r := range rounds {
			for _, mode := range [][]bool{{false, true}, {true, false}}[r%2] {
				logged, whole, segs := run(mode)
				b.Logf("round %d, pass %v: logged in %v (%.0f entries/s), with the pass caught up %v; %d segments",
					r, map[bool]string{false: "off", true: "on"}[mode], logged, float64(n)/logged.Seconds(), whole, segs)
				if mode {
					on, onWhole = append(on, logged), append(onWhole, whole)
				} else {
					off = append(off, logged)
				}
			}
		}
		rate := func(d time.Duration) float64 { return float64(n) / d.Seconds() }
		b.ReportMetric(rate(median(off)), "off-entries/s")
		b.ReportMetric(rate(median(on)), "on-entries/s")
		b.ReportMetric(100*(1-rate(median(on))/rate(median(off))), "cost-%")
		b.ReportMetric(100*(1-rate(median(onWhole))/rate(median(off))), "cost-caught-up-%")
		b.Logf("median off %v, on %v, on with the pass caught up %v", median(off), median(on), median(onWhole))
	}
}
