package comply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/complyhq/comply/internal/rollup"
)

// A TimeseriesQuery asks for the entries of a time range in buckets of a
// step, optionally split into groups.
type TimeseriesQuery struct {
	// Start and End bound the range, inclusive as in Query; a zero bound
	// is unbounded.
	Start, End time.Time
	// Step is the bucket width: time.Hour or 24*time.Hour (UTC days).
	Step time.Duration
	// GroupBy splits each bucket: "" (no split), "model", "provider" or
	// "detector" (an entry counts once in the group of each detector that
	// fired on it, and in none if none did).
	GroupBy string
}

// The GroupBy values of a TimeseriesQuery.
const (
	GroupByModel    = "model"
	GroupByProvider = "provider"
	GroupByDetector = "detector"
)

// A Bucket is the figures of one step of a timeseries, for one group.
type Bucket struct {
	Start          time.Time `json:"start"`           // the bucket's start, UTC
	Group          string    `json:"group,omitempty"` // the model, provider or detector; "" for none
	Entries        int64     `json:"entries"`
	SafetyFailures int64     `json:"safety_failures"`
	Errors         int64     `json:"errors"` // failed calls, as Stats counts them
	InputTokens    int64     `json:"input_tokens"`
	OutputTokens   int64     `json:"output_tokens"`
	AvgLatencyMS   float64   `json:"avg_latency_ms"`
	// Latency percentiles, within 1% (see Stats).
	P50LatencyMS float64 `json:"p50_latency_ms"`
	P95LatencyMS float64 `json:"p95_latency_ms"`
	P99LatencyMS float64 `json:"p99_latency_ms"`
}

// Timeseries returns the buckets of q that hold entries, by start then
// group. It reads the segments' rollups as Stats does: counts and sums
// equal a scan of the range, percentiles are within 1%. Damaged lines are
// skipped.
func (l *Logger) Timeseries(ctx context.Context, q TimeseriesQuery) ([]Bucket, error) {
	if q.Step != time.Hour && q.Step != 24*time.Hour {
		return nil, &InvalidError{Field: "Step", Err: fmt.Errorf("%v: want 1h or 24h", q.Step)}
	}
	switch q.GroupBy {
	case "", GroupByModel, GroupByProvider, GroupByDetector:
	default:
		return nil, &InvalidError{Field: "GroupBy", Err: fmt.Errorf("%q: want model, provider or detector", q.GroupBy)}
	}
	if !q.Start.IsZero() && !q.End.IsZero() && q.End.Before(q.Start) {
		return nil, &InvalidError{Field: "End", Err: errors.New("before Start")}
	}
	r, err := l.rollupOf(ctx, q.Start, q.End)
	if err != nil {
		return nil, err
	}
	type bkey struct {
		start int64
		group string
	}
	cells := map[bkey]*rollup.Cell{}
	add := func(hour int64, group string, c *rollup.Cell) {
		k := bkey{start: rollup.HourStart(hour).Truncate(q.Step).Unix(), group: group}
		b := cells[k]
		if b == nil {
			b = &rollup.Cell{}
			cells[k] = b
		}
		b.Merge(c)
	}
	if q.GroupBy == GroupByDetector {
		for k, c := range r.Detectors {
			add(k.Hour, k.Name, c)
		}
	} else {
		for k, c := range r.Cells {
			var g string
			switch q.GroupBy {
			case GroupByModel:
				g = k.Model
			case GroupByProvider:
				g = k.Provider
			}
			add(k.Hour, g, c)
		}
	}
	out := make([]Bucket, 0, len(cells))
	for k, c := range cells {
		b := Bucket{
			Start: time.Unix(k.start, 0).UTC(), Group: k.group,
			Entries: c.Entries, SafetyFailures: c.SafetyFailures, Errors: c.Errors,
			InputTokens: c.InputTokens, OutputTokens: c.OutputTokens,
			P50LatencyMS: c.Latency.Percentile(50),
			P95LatencyMS: c.Latency.Percentile(95),
			P99LatencyMS: c.Latency.Percentile(99),
		}
		if c.Entries > 0 {
			b.AvgLatencyMS = c.LatencySum / float64(c.Entries)
		}
		out = append(out, b)
	}
	slices.SortFunc(out, func(a, b Bucket) int {
		return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.Group, b.Group))
	})
	return out, nil
}
