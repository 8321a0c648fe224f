package comply_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store/filestore"
)

// benchDir returns a file store directory of COMPLY_BENCH_ENTRIES entries
// (default 1,000,000) backfilled over the 30 days before 2026-01-01, made
// once under /tmp/comply-bench-<n> and reused across runs.
func benchDir(b *testing.B) (string, int) {
	n := 1_000_000
	if v, err := strconv.Atoi(os.Getenv("COMPLY_BENCH_ENTRIES")); err == nil && v > 0 {
		n = v
	}
	dir := fmt.Sprintf("/tmp/comply-bench-%d", n)
	if _, err := os.Stat(dir + "/.complete"); err == nil {
		return dir, n
	}
	os.RemoveAll(dir)
	s, err := filestore.Open(b.Context(), dir, &filestore.Options{Durability: filestore.None})
	if err != nil {
		b.Fatal(err)
	}
	l, err := comply.New(s, &comply.Options{RetentionDays: -1})
	if err != nil {
		b.Fatal(err)
	}
	logSpread(b, l, n)
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	os.WriteFile(dir+"/.complete", nil, 0o600)
	return dir, n
}

// BenchmarkRollups measures Stats and a 30-day timeseries by hour by
// model over the bench directory, read-only as the CLI opens it: "cold"
// in a new Logger each time (rollups read from their blobs, built and
// written by a writer's pass first; the store's Open, which checks its
// index sidecars, is not timed), "warm" in one Logger.
func BenchmarkRollups(b *testing.B) {
	dir, n := benchDir(b)
	// A writer's pass writes the rollups the directory lacks.
	s, err := filestore.Open(b.Context(), dir, &filestore.Options{Durability: filestore.None})
	if err != nil {
		b.Fatal(err)
	}
	w, err := comply.New(s, nil)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	comply.WaitSummaries(w)
	b.Logf("%d entries; the writer's pass took %v", n, time.Since(start))
	w.Close()
	open := func() *comply.Logger {
		s, err := filestore.Open(b.Context(), dir, &filestore.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		l, err := comply.New(s, nil)
		if err != nil {
			b.Fatal(err)
		}
		return l
	}
	ts := comply.TimeseriesQuery{Start: time.Date(2025, 12, 2, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Step: time.Hour, GroupBy: comply.GroupByModel}
	since := time.Date(2025, 12, 1, 17, 23, 0, 0, time.UTC) // cuts an hour
	for _, cold := range []bool{true, false} {
		name := map[bool]string{true: "cold", false: "warm"}[cold]
		l := open()
		b.Run("Stats/"+name, func(b *testing.B) {
			for b.Loop() {
				if cold {
					b.StopTimer() // opening the store is not Stats's cost
					l.Close()
					l = open()
					b.StartTimer()
				}
				st, err := l.Stats(b.Context(), since)
				if err != nil || st.WindowEntries == 0 {
					b.Fatal(st.WindowEntries, err)
				}
			}
		})
		b.Run("Timeseries/"+name, func(b *testing.B) {
			for b.Loop() {
				if cold {
					b.StopTimer() // opening the store is not Stats's cost
					l.Close()
					l = open()
					b.StartTimer()
				}
				bs, err := l.Timeseries(b.Context(), ts)
				if err != nil || len(bs) == 0 {
					b.Fatal(len(bs), err)
				}
			}
		})
		l.Close()
	}
}
