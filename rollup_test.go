package comply_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/internal/rollup"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/memstore"
)

// fill logs n random interactions backfilled over the days before now.
func fill(t *testing.T, l *comply.Logger, rng *rand.Rand, now time.Time, days, n int) {
	t.Helper()
	providers := []string{"openai", "anthropic", ""}
	models := []string{"gpt-4", "claude", "llama", ""}
	detectors := []string{"pii", "toxicity", "jailbreak"}
	var ins []comply.Interaction
	for range n {
		in := comply.Interaction{
			Input:        "q",
			Provider:     providers[rng.IntN(len(providers))],
			Model:        models[rng.IntN(len(models))],
			SafetyFailed: rng.IntN(5) == 0,
			Time:         now.Add(-time.Duration(rng.Int64N(int64(days) * int64(24*time.Hour)))),
			Latency:      time.Duration(rng.ExpFloat64() * float64(300*time.Millisecond)),
		}
		if rng.IntN(3) > 0 {
			in.InputTokens, in.OutputTokens = comply.Tokens(rng.IntN(1000)), comply.Tokens(rng.IntN(500))
		}
		for _, d := range detectors {
			if rng.IntN(6) == 0 {
				in.DetectorsTriggered = append(in.DetectorsTriggered, d)
			}
		}
		if in.SafetyFailed && rng.IntN(2) == 0 {
			in.BlockReason = "policy"
		}
		switch rng.IntN(6) {
		case 0:
			in.Metadata = map[string]any{"error": map[string]any{"type": "timeout"}}
		case 1:
			in.Metadata = map[string]any{"ttft_ms": rng.Float64() * 100, "cost_usd": 0.25}
		}
		ins = append(ins, in)
	}
	if _, err := l.LogBatch(t.Context(), ins...); err != nil {
		t.Fatal(err)
	}
}

// exact holds the figures of a set of entries computed by a full scan.
type exact struct {
	entries, failures, errors, in, out int64
	lat                                []float64
}

func (x *exact) add(e *comply.Entry) {
	x.entries++
	if !e.SafetyPassed {
		x.failures++
	}
	if strings.Contains(string(e.Metadata), `"error"`) {
		x.errors++
	}
	if e.InputTokens != nil {
		x.in += *e.InputTokens
	}
	if e.OutputTokens != nil {
		x.out += *e.OutputTokens
	}
	x.lat = append(x.lat, e.LatencyMS)
}

// nearest returns the p-th percentile by nearest rank.
func nearest(v []float64, p int) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Sorted(slices.Values(v))
	return v[(p*len(v)+99)/100-1]
}

func within(got, want float64) bool {
	return math.Abs(got-want) <= 0.01*math.Abs(want)+1e-9
}

// TestRollupsEqualFullScan compares Stats and Timeseries, read from
// rollups, with a full scan, over random data and random bounds.
func TestRollupsEqualFullScan(t *testing.T) {
	now := time.Now().UTC()
	stores := []struct {
		name string
		open func(t *testing.T) store.Store
	}{
		{"memstore", func(t *testing.T) store.Store { return memstore.New(0) }},
		{"filestore", func(t *testing.T) store.Store {
			s, err := filestore.Open(t.Context(), t.TempDir(), &filestore.Options{RotationSize: 16 << 10})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(len(st.name))))
			l, err := comply.New(st.open(t), &comply.Options{RetentionDays: -1})
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			fill(t, l, rng, now, 6, 3000)
			var all []comply.Entry
			for e, err := range l.Entries(t.Context(), time.Time{}, time.Time{}) {
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, e)
			}
			for i := range 12 {
				start := now.Add(-time.Duration(rng.Int64N(int64(7 * 24 * time.Hour))))
				end := start.Add(time.Duration(rng.Int64N(int64(3 * 24 * time.Hour))))
				if i == 0 {
					start = time.Time{}
				}
				checkStats(t, l, all, start)
				for _, step := range []time.Duration{time.Hour, 24 * time.Hour} {
					for _, g := range []string{"", comply.GroupByModel, comply.GroupByProvider, comply.GroupByDetector} {
						checkTimeseries(t, l, all, comply.TimeseriesQuery{Start: start, End: end, Step: step, GroupBy: g})
					}
				}
			}
		})
	}
}

func checkStats(t *testing.T, l *comply.Logger, all []comply.Entry, since time.Time) {
	t.Helper()
	got, err := l.Stats(t.Context(), since)
	if err != nil {
		t.Fatal(err)
	}
	var x exact
	for i := range all {
		if !all[i].Timestamp.Before(since) {
			x.add(&all[i])
		}
	}
	if got.WindowEntries != x.entries || got.SafetyFailures != x.failures || got.Errors != x.errors {
		t.Errorf("Stats(%v) = %d entries, %d failures, %d errors; a scan: %d, %d, %d", since, got.WindowEntries, got.SafetyFailures, got.Errors, x.entries, x.failures, x.errors)
	}
	if !within(got.P95LatencyMS, nearest(x.lat, 95)) {
		t.Errorf("Stats(%v) p95 %v, a scan %v", since, got.P95LatencyMS, nearest(x.lat, 95))
	}
}

func checkTimeseries(t *testing.T, l *comply.Logger, all []comply.Entry, q comply.TimeseriesQuery) {
	t.Helper()
	got, err := l.Timeseries(t.Context(), q)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*exact{}
	for i := range all {
		e := &all[i]
		if !q.Start.IsZero() && e.Timestamp.Before(q.Start) || !q.End.IsZero() && e.Timestamp.After(q.End) {
			continue
		}
		groups := []string{""}
		switch q.GroupBy {
		case comply.GroupByModel:
			groups = []string{e.Model}
		case comply.GroupByProvider:
			groups = []string{e.Provider}
		case comply.GroupByDetector:
			groups = slices.Compact(slices.Sorted(slices.Values(e.DetectorsTriggered)))
		}
		for _, g := range groups {
			k := fmt.Sprint(e.Timestamp.Truncate(q.Step).Unix(), "/", g)
			if want[k] == nil {
				want[k] = &exact{}
			}
			want[k].add(e)
		}
	}
	if len(got) != len(want) {
		t.Errorf("Timeseries(%+v): %d buckets, a scan %d", q, len(got), len(want))
	}
	for _, b := range got {
		x := want[fmt.Sprint(b.Start.Unix(), "/", b.Group)]
		if x == nil {
			t.Errorf("Timeseries(%+v): bucket %v %q not in a scan", q, b.Start, b.Group)
			continue
		}
		if b.Entries != x.entries || b.SafetyFailures != x.failures || b.Errors != x.errors || b.InputTokens != x.in || b.OutputTokens != x.out {
			t.Errorf("Timeseries(%+v) bucket %v %q = %+v, a scan %+v", q, b.Start, b.Group, b, *x)
		}
		for _, p := range []struct {
			got float64
			p   int
		}{{b.P50LatencyMS, 50}, {b.P95LatencyMS, 95}, {b.P99LatencyMS, 99}} {
			if !within(p.got, nearest(x.lat, p.p)) {
				t.Errorf("Timeseries(%+v) bucket %v %q p%d = %v, a scan %v", q, b.Start, b.Group, p.p, p.got, nearest(x.lat, p.p))
			}
		}
	}
}

// TestSummariesNeverTrusted damages, removes and stales the rollup blobs
// of a file store: Stats stays equal to a full scan.
func TestSummariesNeverTrusted(t *testing.T) {
	dir := t.TempDir()
	now := time.Now().UTC()
	rng := rand.New(rand.NewPCG(7, 7))
	open := func() *comply.Logger {
		s, err := filestore.Open(t.Context(), dir, &filestore.Options{RotationSize: 32 << 10})
		if err != nil {
			t.Fatal(err)
		}
		l, err := comply.New(s, &comply.Options{RetentionDays: -1})
		if err != nil {
			t.Fatal(err)
		}
		comply.WaitSummaries(l)
		return l
	}
	l := open()
	fill(t, l, rng, now.Add(-48*time.Hour), 4, 2000)
	l.Close()
	l = open() // the pass builds the rollups of the sealed files
	blobs, _ := filepath.Glob(filepath.Join(dir, ".comply", "blobs", "summary", "rollup", "*"))
	if len(blobs) == 0 {
		t.Fatalf("no rollup blobs written")
	}
	l.Close()
	tests := []struct {
		name   string
		damage func(path string) error
	}{
		{"flipped byte", func(p string) error {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x40
			return os.WriteFile(p, b, 0o600)
		}},
		{"truncated", func(p string) error { return os.Truncate(p, 10) }},
		{"removed", os.Remove},
		{"stale (another file's)", func(p string) error {
			other := blobs[0]
			if other == p {
				other = blobs[len(blobs)-1]
			}
			b, err := os.ReadFile(other)
			if err != nil {
				return err
			}
			return os.WriteFile(p, b, 0o600)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range blobs[len(blobs)/2:] {
				if err := tt.damage(p); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			s, err := filestore.Open(t.Context(), dir, &filestore.Options{ReadOnly: true})
			if err != nil {
				t.Fatal(err)
			}
			l, err := comply.New(s, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			var all []comply.Entry
			for e, err := range l.Entries(t.Context(), time.Time{}, time.Time{}) {
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, e)
			}
			checkStats(t, l, all, time.Time{})
			checkStats(t, l, all, now.Add(-50*time.Hour-17*time.Minute))
		})
	}
}

// TestKeyedPrefix: the rollups count keyed hashes by the prefix the
// Logger writes.
func TestKeyedPrefix(t *testing.T) {
	if rollup.KeyedPrefix != comply.HMACPrefix {
		t.Errorf("rollup.KeyedPrefix %q, HMACPrefix %q", rollup.KeyedPrefix, comply.HMACPrefix)
	}
}
