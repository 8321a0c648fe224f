package memstore

import (
	"context"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"time"

	"github.com/complyhq/comply/store"
)

var _ store.Segmented = (*Store)(nil)

const day = 24 * time.Hour

// unixDay returns the UTC day of t, in days since the epoch.
func unixDay(t time.Time) int64 {
	return t.UTC().Truncate(day).Unix() / 86400
}

// touch records a change to the day of t. The caller holds s.mu.
func (s *Store) touch(t time.Time) {
	if s.gens == nil {
		s.gens = make(map[int64]uint64)
	}
	s.gen++
	s.gens[unixDay(t)] = s.gen
}

// Segments implements store.Segmented: one segment per UTC day that holds
// records, named by its date (2006-01-02). Its Version is the number of
// the last change (append, delete, eviction, expiry) that touched the day;
// days before today are Sealed.
func (s *Store) Segments(ctx context.Context, q store.Query) ([]store.Segment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	byDay := map[int64]*store.Segment{}
	var days []int64
	for _, r := range s.recs {
		if r.Line == nil {
			continue
		}
		d := unixDay(r.Time)
		g := byDay[d]
		if g == nil {
			g = &store.Segment{Min: r.Time, Max: r.Time}
			byDay[d] = g
			days = append(days, d)
		}
		g.Count++
		if r.Time.Before(g.Min) {
			g.Min = r.Time
		}
		if r.Time.After(g.Max) {
			g.Max = r.Time
		}
	}
	today := unixDay(time.Now())
	out := make([]store.Segment, 0, len(days))
	slices.Sort(days)
	for _, d := range days {
		g := byDay[d]
		if !q.Start.IsZero() && g.Max.Before(q.Start) || !q.End.IsZero() && g.Min.After(q.End) {
			continue
		}
		g.Name = time.Unix(d*86400, 0).UTC().Format(time.DateOnly)
		g.Sealed = d < today
		g.Version = strconv.FormatUint(s.gens[d], 10)
		out = append(out, *g)
	}
	return out, nil
}

// ScanSegment implements store.Segmented: Scan of one day.
func (s *Store) ScanSegment(ctx context.Context, name string, q store.Query) iter.Seq2[store.Record, error] {
	return func(yield func(store.Record, error) bool) {
		t, err := time.Parse(time.DateOnly, name)
		if err != nil {
			yield(store.Record{}, fmt.Errorf("scan segment %q: %w", name, store.ErrNotFound))
			return
		}
		if !s.holdsDay(unixDay(t)) {
			yield(store.Record{}, fmt.Errorf("scan segment %s: %w", name, store.ErrNotFound))
			return
		}
		lo, hi := t, t.Add(day-time.Nanosecond)
		if q.Start.IsZero() || q.Start.Before(lo) {
			q.Start = lo
		}
		if q.End.IsZero() || q.End.After(hi) {
			q.End = hi
		}
		if q.End.Before(q.Start) {
			return
		}
		for r, err := range s.Scan(ctx, q) {
			if !yield(r, err) {
				return
			}
		}
	}
}

// holdsDay reports whether a record of day d is stored.
func (s *Store) holdsDay(d int64) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, r := range s.recs {
		if r.Line != nil && unixDay(r.Time) == d {
			return true
		}
	}
	return false
}
