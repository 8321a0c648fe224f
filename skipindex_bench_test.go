package comply_test

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
)

// The 10M-entry directory of the lookup benchmarks: 10,000,000 hash-only
// entries backfilled over 30 days (conversations of 8 turns, 5,000 users,
// unique inputs), plus one needle in the middle. It is made once, where
// COMPLY_BENCH_10M names (default: the benchmarks skip), and marked done by
// a file beside it.
const (
	bench10MEntries = 10_000_000
	needleConv      = "needle-conversation"
	needleText      = "the one question nobody else asked"
)

var bench10MStart = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func bench10MDir(b *testing.B) string {
	b.Helper()
	dir := os.Getenv("COMPLY_BENCH_10M")
	if dir == "" {
		b.Skip("COMPLY_BENCH_10M names the directory of 10M entries (made on first use)")
	}
	if _, err := os.Stat(dir + ".done"); err == nil {
		writeFilters10M(b, dir)
		return dir
	}
	s, err := filestore.Open(b.Context(), dir, &filestore.Options{Durability: filestore.None})
	if err != nil {
		b.Fatal(err)
	}
	l, err := comply.New(s, &comply.Options{RetentionDays: -1})
	if err != nil {
		b.Fatal(err)
	}
	step := 30 * 24 * time.Hour / bench10MEntries
	batch := make([]comply.Interaction, 0, 1000)
	for i := range bench10MEntries {
		in := comply.Interaction{
			Time:     bench10MStart.Add(time.Duration(i) * step),
			Input:    fmt.Sprint("question ", i),
			Output:   fmt.Sprint("answer ", i%1000),
			Provider: "openai", Model: []string{"gpt-4o", "gpt-4o-mini", "claude"}[i%3],
			ConversationID: fmt.Sprint("conv-", i/8),
			Latency:        time.Duration(100+i%900) * time.Millisecond,
			Metadata:       map[string]any{"user_id": fmt.Sprint("user-", i%5000), "session_id": fmt.Sprint("s-", i/64)},
		}
		if i == bench10MEntries/2 {
			in.ConversationID, in.Input = needleConv, needleText
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
	if err := os.WriteFile(dir+".done", nil, 0o600); err != nil {
		b.Fatal(err)
	}
	writeFilters10M(b, dir)
	return dir
}

// writeFilters10M has a writer keep the skip filters of the sealed
// segments (a filtered query over a writer builds and writes those
// missing, as the writer's background pass does), once per process.
func writeFilters10M(b *testing.B, dir string) {
	filtersOnce.Do(func() {
		s, err := filestore.Open(b.Context(), dir, &filestore.Options{Durability: filestore.None})
		if err != nil {
			b.Fatal(err)
		}
		l, err := comply.New(s, &comply.Options{RetentionDays: -1})
		if err != nil {
			b.Fatal(err)
		}
		defer l.Close()
		start := time.Now()
		for _, err := range l.Query(b.Context(), comply.Query{ConversationID: needleConv}) {
			if err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("filters ready in %v", time.Since(start))
	})
}

var filtersOnce sync.Once

func openBench10M(b *testing.B, dir string) *comply.Logger {
	b.Helper()
	s, err := filestore.Open(b.Context(), dir, &filestore.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	l, err := comply.New(s, &comply.Options{RetentionDays: -1})
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkFindOne10M measures a conversation lookup and find by content
// over 10M entries with one match: cold (a Logger just opened, so its
// filters come from the store's sidecar or are built) and warm.
func BenchmarkFindOne10M(b *testing.B) {
	dir := bench10MDir(b)
	queries := []struct {
		name string
		q    func(l *comply.Logger) comply.Query
	}{
		{"conversation", func(*comply.Logger) comply.Query { return comply.Query{ConversationID: needleConv} }},
		{"input-text", func(l *comply.Logger) comply.Query { return comply.Query{InputHash: l.Hash(needleText)} }},
	}
	find := func(b *testing.B, l *comply.Logger, q comply.Query) {
		n := 0
		for _, err := range l.Query(b.Context(), q) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 1 {
			b.Fatalf("found %d entries, want 1", n)
		}
	}
	for _, qc := range queries {
		b.Run(qc.name+"/cold", func(b *testing.B) {
			for b.Loop() {
				l := openBench10M(b, dir)
				find(b, l, qc.q(l))
				l.Close()
			}
		})
		b.Run(qc.name+"/warm", func(b *testing.B) {
			l := openBench10M(b, dir)
			defer l.Close()
			find(b, l, qc.q(l))
			for b.Loop() {
				find(b, l, qc.q(l))
			}
		})
	}
	// The live segment has no filters: a lookup reads it whole. Here all
	// segments are sealed, so this measures what a live segment at the
	// rotation size adds to a lookup: a query that no filter answers (a
	// model, compared as cheaply as a conversation), within the time range
	// of the needle's segment, reads and decodes that segment.
	b.Run("live-segment/warm", func(b *testing.B) {
		s, err := filestore.Open(b.Context(), dir, &filestore.Options{ReadOnly: true})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		needleAt := bench10MStart.Add(time.Duration(bench10MEntries/2) * (30 * 24 * time.Hour / bench10MEntries))
		segs, err := s.Segments(b.Context(), store.Query{Start: needleAt, End: needleAt})
		if err != nil || len(segs) == 0 {
			b.Fatalf("no segment at the needle: %v", err)
		}
		l := openBench10M(b, dir)
		defer l.Close()
		q := comply.Query{Start: segs[0].Min, End: segs[0].Max, Model: "no-such-model"}
		for b.Loop() {
			n := 0
			for _, err := range l.Query(b.Context(), q) {
				if err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != 0 {
				b.Fatalf("found %d entries, want 0", n)
			}
		}
		b.ReportMetric(float64(segs[0].Count), "entries/segment")
	})
}
