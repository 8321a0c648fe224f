package policy

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/complyhq/comply/store"
)

// CountsPrefix starts the names of the sidecar blobs that count the
// interactions of level none, one blob per UTC day and writer:
// CountsPrefix and YYYYMMDD, then, for a writer of a store with several
// (store.Shared), "." and the writer's id.
const CountsPrefix = "policy/counts/"

// countsFormat names the counts blob's format, its first field.
const countsFormat = "comply-policy-counts/v1"

// A Count is how many interactions a rule of level none counted in one
// UTC hour.
type Count struct {
	Hour  time.Time `json:"hour"` // the hour's start, UTC
	Rule  string    `json:"rule"` // the rule's name, or DefaultRule
	Count int64     `json:"count"`
}

type countsBlob struct {
	Format string  `json:"format"`
	Day    string  `json:"day"` // YYYY-MM-DD
	Counts []Count `json:"counts"`
}

// CountsBlob returns the name of the counts blob of t's UTC day, for a
// store with one writer.
func CountsBlob(t time.Time) string { return CountsPrefix + t.UTC().Format("20060102") }

// countsBlobOf returns the name of writer's counts blob of t's UTC day:
// CountsBlob for "", else with "." and the writer's id, any character a
// blob name cannot hold made '_'.
func countsBlobOf(t time.Time, writer string) string {
	if writer == "" {
		return CountsBlob(t)
	}
	w := []byte(writer)
	for i, c := range w {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			w[i] = '_'
		}
	}
	return CountsBlob(t) + "." + string(w)
}

// EncodeCounts returns the counts blob of day holding cs, sorted by hour,
// then rule.
func EncodeCounts(day time.Time, cs []Count) []byte {
	cs = slices.Clone(cs)
	slices.SortFunc(cs, func(a, b Count) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Rule, b.Rule))
	})
	b, _ := json.Marshal(countsBlob{Format: countsFormat, Day: day.UTC().Format(time.DateOnly), Counts: cs})
	return append(b, '\n')
}

// ParseCounts reads a counts blob.
func ParseCounts(b []byte) ([]Count, error) {
	var cb countsBlob
	if err := json.Unmarshal(b, &cb); err != nil {
		return nil, fmt.Errorf("policy counts: %w", err)
	}
	if cb.Format != countsFormat {
		return nil, fmt.Errorf("policy counts: format %q: want %s", cb.Format, countsFormat)
	}
	for i := range cb.Counts {
		c := &cb.Counts[i]
		if c.Count < 0 || c.Rule == "" || !c.Hour.Equal(c.Hour.Truncate(time.Hour)) {
			return nil, fmt.Errorf("policy counts: entry %d: want a rule, a whole hour and a count of 0 or more", i)
		}
		c.Hour = c.Hour.UTC()
	}
	return cb.Counts, nil
}

// ReadCounts returns the counts of the hours that overlap [start, end],
// both inclusive (a zero bound is unbounded), summed over the writers'
// blobs and sorted by hour, then rule.
func ReadCounts(ctx context.Context, sc store.Sidecar, start, end time.Time) ([]Count, error) {
	names, err := sc.ListBlobs(ctx, CountsPrefix)
	if err != nil {
		return nil, fmt.Errorf("policy counts: %w", err)
	}
	sum := map[countKey]int64{}
	for _, name := range names {
		b, err := sc.ReadBlob(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("policy counts %s: %w", name, err)
		}
		cs, err := ParseCounts(b)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, c := range cs {
			if !start.IsZero() && c.Hour.Add(time.Hour).Before(start) || !end.IsZero() && c.Hour.After(end) {
				continue
			}
			sum[countKey{c.Hour.Unix(), c.Rule}] += c.Count
		}
	}
	return sortedCounts(sum), nil
}

// sortedCounts returns the counts of m sorted by hour, then rule (nil for
// none).
func sortedCounts(m map[countKey]int64) []Count {
	var cs []Count
	for k, v := range m {
		cs = append(cs, Count{Hour: time.Unix(k.hour, 0).UTC(), Rule: k.rule, Count: v})
	}
	slices.SortFunc(cs, func(a, b Count) int {
		return cmp.Or(a.Hour.Compare(b.Hour), cmp.Compare(a.Rule, b.Rule))
	})
	return cs
}

// A Counter persists counts of level none in a store's sidecar blobs.
// Add may be called concurrently. One Counter per writer: the writers of
// a store with several (S3) each count in blobs of their own.
type Counter struct {
	sc     store.Sidecar
	writer string
	mu     sync.Mutex
	days   map[string]map[countKey]int64 // blob name -> counts
}

type countKey struct {
	hour int64 // Unix seconds
	rule string
}

// NewCounter returns a Counter over sc, for a store with one writer.
func NewCounter(sc store.Sidecar) *Counter { return NewWriterCounter(sc, "") }

// NewWriterCounter returns a Counter over sc whose blobs are writer's own
// (store.Shared's WriterID), so that the writers of one store never
// overwrite each other's counts.
func NewWriterCounter(sc store.Sidecar, writer string) *Counter {
	return &Counter{sc: sc, writer: writer, days: map[string]map[countKey]int64{}}
}

// Add counts n interactions of rule at t and returns once the day's blob
// holding the new count is durable.
func (c *Counter) Add(ctx context.Context, t time.Time, rule string, n int64) error {
	t = t.UTC()
	name := countsBlobOf(t, c.writer)
	c.mu.Lock()
	defer c.mu.Unlock()
	day, ok := c.days[name]
	if !ok {
		day = map[countKey]int64{}
		b, err := c.sc.ReadBlob(ctx, name)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return fmt.Errorf("policy counts %s: %w", name, err)
		default:
			cs, err := ParseCounts(b)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			for _, x := range cs {
				day[countKey{x.Hour.Unix(), x.Rule}] += x.Count
			}
		}
	}
	k := countKey{t.Truncate(time.Hour).Unix(), rule}
	day[k] += n
	if err := c.sc.WriteBlob(ctx, name, EncodeCounts(t, sortedCounts(day))); err != nil {
		day[k] -= n
		return fmt.Errorf("policy counts %s: %w", name, err)
	}
	c.days[name] = day
	return nil
}
