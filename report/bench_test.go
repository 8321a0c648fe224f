package report_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/report"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
)

// BenchmarkBuild builds the report of a quarter over a generated store:
// entries spread over 30 days, their rollups persisted by the writer, read
// back by a read-only Logger as 'comply report' does. The cost should not
// grow with the entries (entries/s grows instead).
func BenchmarkBuild(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			dir := b.TempDir()
			st, err := filestore.Open(b.Context(), dir, &filestore.Options{Durability: store.None})
			if err != nil {
				b.Fatal(err)
			}
			l, err := comply.New(st, nil)
			if err != nil {
				b.Fatal(err)
			}
			span := 30 * 24 * time.Hour
			batch := make([]comply.Interaction, 0, 1000)
			for i := range n {
				in := comply.Interaction{Input: "in", Output: "out", Time: t0.Add(span * time.Duration(i) / time.Duration(n)), Metadata: map[string]any{"user_id": "u"}}
				if i%50 == 0 {
					in.SafetyFailed, in.DetectorsTriggered = true, []string{"pii"}
				}
				if batch = append(batch, in); len(batch) == cap(batch) {
					if _, err := l.LogBatch(b.Context(), batch...); err != nil {
						b.Fatal(err)
					}
					batch = batch[:0]
				}
			}
			if err := l.Close(); err != nil {
				b.Fatal(err)
			}
			persistRollups(b, dir)
			period := report.Period{Start: t0.AddDate(0, -1, 0), End: t0.AddDate(0, 2, 0)}
			for b.Loop() {
				ro, err := filestore.Open(b.Context(), dir, &filestore.Options{ReadOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				rl, err := comply.New(ro, nil)
				if err != nil {
					b.Fatal(err)
				}
				r, err := report.Build(b.Context(), report.Inputs{Logger: rl, Period: period, SampleSize: 25, Seed: 1})
				if err != nil {
					b.Fatal(err)
				}
				if r.Population.Entries != int64(n) || len(r.Sample.Items) != 25 {
					b.Fatalf("%d entries, %d sampled", r.Population.Entries, len(r.Sample.Items))
				}
				rl.Close()
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// persistRollups opens dir as a writer, once its files are no longer
// open, and reads every rollup: a writer writes those it lacks.
func persistRollups(tb testing.TB, dir string) {
	tb.Helper()
	st, err := filestore.Open(tb.Context(), dir, nil)
	if err != nil {
		tb.Fatal(err)
	}
	l, err := comply.New(st, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := l.Timeseries(tb.Context(), comply.TimeseriesQuery{Step: 24 * time.Hour}); err != nil {
		tb.Fatal(err)
	}
	if err := l.Close(); err != nil {
		tb.Fatal(err)
	}
}
