package comply

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/internal/rollup"
	"github.com/complyhq/comply/store"
)

// rollupKind is the summary kind "rollup": counts, sums and latency
// sketches by hour (internal/rollup).
type rollupKind struct{}

func (rollupKind) name() string { return "rollup" }

func (rollupKind) build(entries iter.Seq2[*Entry, error]) (any, error) {
	r := rollup.New()
	if err := addEntries(r, entries); err != nil {
		return nil, err
	}
	return r, nil
}

func (rollupKind) encode(v any, version string) []byte {
	return rollup.Encode(v.(*rollup.Rollup), version)
}

func (rollupKind) decode(b []byte) (any, string, error) {
	return rollup.Decode(b)
}

// addEntries adds entries to r, counting damaged lines as corrupt; it
// stops at an error that ends the scan and returns it.
func addEntries(r *rollup.Rollup, entries iter.Seq2[*Entry, error]) error {
	for e, err := range entries {
		if err != nil {
			var ce *store.CorruptionError
			if !errors.As(err, &ce) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return err
			}
			r.Corrupt++
			continue
		}
		r.Add((*line.Entry)(e), rollup.FactsOf(e.Metadata))
	}
	return nil
}

// rollupOf returns the rollup of the entries within [start, end] (a zero
// bound is unbounded). Over a Segmented store it reads each segment's
// summary: whole for a segment that lies within the bounds, its whole
// hours within the bounds otherwise, and scans only the hours the bounds
// cut through. Over any other store it scans everything in range.
func (l *Logger) rollupOf(ctx context.Context, start, end time.Time) (*rollup.Rollup, error) {
	if err := l.errIfClosed("rollup"); err != nil {
		return nil, err
	}
	q := store.Query{Start: start, End: end}
	sg, _, ok := l.segmented()
	var segs []store.Segment
	var err error
	if ok {
		segs, err = sg.Segments(ctx, q)
	}
	if !ok || errors.Is(err, errors.ErrUnsupported) {
		return l.scanRollup(ctx, start, end)
	}
	if err != nil {
		return nil, fmt.Errorf("comply: %w", err)
	}
	l.prefetchSummaries(ctx, rollupKind{}, segs)
	out := rollup.New()
	for _, seg := range segs {
		if err := l.rollupSegment(ctx, sg, seg, q, out); err != nil {
			return nil, fmt.Errorf("comply: %w", err)
		}
	}
	return out, nil
}

// summaryFetches bounds the summaries read (or built) at once.
const summaryFetches = 16

// prefetchSummaries reads kind's summaries of segs into the process's
// cache, summaryFetches at a time: on S3 each is a GET, and a month of
// segments read one after another costs seconds. Errors are left for the
// caller's own read of each, which reports them.
func (l *Logger) prefetchSummaries(ctx context.Context, k summaryKind, segs []store.Segment) {
	if len(segs) < 2 {
		return
	}
	sem := make(chan struct{}, summaryFetches)
	var wg sync.WaitGroup
	for _, seg := range segs {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			l.summary(ctx, k, seg, true)
		})
	}
	wg.Wait()
}

// rollupSegment adds to out what seg holds within q.
func (l *Logger) rollupSegment(ctx context.Context, sg store.Segmented, seg store.Segment, q store.Query, out *rollup.Rollup) error {
	v, err := l.summary(ctx, rollupKind{}, seg, true)
	if errors.Is(err, store.ErrNotFound) {
		return nil // removed by retention since it was listed
	}
	if err != nil {
		return err
	}
	r := v.(*rollup.Rollup)
	inside := q.Contains(seg.Min) && q.Contains(seg.Max)
	if inside {
		out.Merge(r, nil)
		return nil
	}
	if r.Corrupt > 0 {
		// A damaged line has no time: scan all of q, as Scan would, so
		// that it is counted once.
		if err := addEntries(out, segmentEntries(ctx, sg, seg.Name, q)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return nil
	}
	full := func(h int64) bool {
		return q.Contains(rollup.HourStart(h)) && q.Contains(rollup.HourStart(h+1).Add(-time.Nanosecond))
	}
	out.Merge(r, full)
	// The hours q cuts through: those of its bounds, when partial.
	var cuts []int64
	if !q.Start.IsZero() && !full(rollup.Hour(q.Start)) {
		cuts = append(cuts, rollup.Hour(q.Start))
	}
	if !q.End.IsZero() && !full(rollup.Hour(q.End)) && (len(cuts) == 0 || cuts[0] != rollup.Hour(q.End)) {
		cuts = append(cuts, rollup.Hour(q.End))
	}
	for _, h := range cuts {
		sub := store.Query{Start: rollup.HourStart(h), End: rollup.HourStart(h + 1).Add(-time.Nanosecond)}
		if !q.Start.IsZero() && q.Start.After(sub.Start) {
			sub.Start = q.Start
		}
		if !q.End.IsZero() && q.End.Before(sub.End) {
			sub.End = q.End
		}
		if sub.End.Before(sub.Start) || seg.Max.Before(sub.Start) || seg.Min.After(sub.End) {
			continue
		}
		if err := addEntries(out, segmentEntries(ctx, sg, seg.Name, sub)); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// scanRollup is rollupOf by a scan of everything in range.
func (l *Logger) scanRollup(ctx context.Context, start, end time.Time) (*rollup.Rollup, error) {
	r := rollup.New()
	for e, err := range l.Entries(ctx, start, end) {
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			r.Corrupt++
			continue
		}
		r.Add((*line.Entry)(&e), rollup.FactsOf(e.Metadata))
	}
	return r, nil
}

// A Tally is what a compliance report (package report) reads of a time
// range from the rollups, without reading the entries: counts by hour,
// by hour and detector, and by hour and failed block reason.
type Tally struct {
	Hours     []HourTally // the hours with entries, in time order
	Detectors []NameTally // by hour then name: the entries each detector fired on
	Reasons   []NameTally // by hour then name: the safety failures by block reason
	Corrupt   int64       // lines that could not be read
	// Skipped are the hours (their starts, in time order) that hold
	// entries the skip function left out.
	Skipped []time.Time
}

// An HourTally is the counts of one hour's entries.
type HourTally struct {
	Start          time.Time // the hour's start, UTC
	Entries        int64
	SafetyFailures int64
	WithUser       int64 // metadata names a user_id (not null, not blank)
	WithBoth       int64 // ... and a session_id
	HashOnly       int64 // no stored content
	Keyed          int64 // the input hash starts with HMACPrefix
	Unhashed       int64 // neither content hash (policy level metadata)
	// SeriousFailures are the safety failures whose metadata says
	// "severity": "serious".
	SeriousFailures int64
	// First and Last are the earliest and latest entry times of the hour.
	First, Last time.Time
	// Pool is the ids of up to 32 entries of the hour (skipped ones
	// included) with the smallest rank, in rank order: a uniform random
	// subset of the hour, whatever the order of its entries. An id's
	// rank is the splitmix64 finalizer of the FNV-1a 64-bit hash of the
	// id (docs/format.md, section 8).
	Pool []string
}

// A NameTally is the counts of one hour's entries with a name (a
// detector or a block reason).
type NameTally struct {
	Start          time.Time
	Name           string
	Entries        int64
	SafetyFailures int64
}

// Tally returns the tally of the entries within [start, end] (inclusive;
// a zero bound is unbounded), read from the segments' rollups as
// Timeseries does: every count equals a scan of the range. Entries whose
// provider and model skip accepts are left out of Hours (not of Detectors
// and Reasons: leave out only entries that never fail a safety check).
func (l *Logger) Tally(ctx context.Context, start, end time.Time, skip func(provider, model string) bool) (*Tally, error) {
	r, err := l.rollupOf(ctx, start, end)
	if err != nil {
		return nil, err
	}
	hours := map[int64]*HourTally{}
	skipped := map[int64]bool{}
	for k, c := range r.Cells {
		if skip != nil && skip(k.Provider, k.Model) {
			if c.Entries > 0 {
				skipped[k.Hour] = true
			}
			continue
		}
		h := hours[k.Hour]
		if h == nil {
			h = &HourTally{Start: rollup.HourStart(k.Hour)}
			hours[k.Hour] = h
		}
		h.Entries += c.Entries
		h.SafetyFailures += c.SafetyFailures
		h.WithUser += c.WithUser
		h.WithBoth += c.WithBoth
		h.HashOnly += c.HashOnly
		h.Keyed += c.Keyed
		h.Unhashed += c.Unhashed
		if c.Entries > 0 {
			first, last := time.UnixMicro(c.First).UTC(), time.UnixMicro(c.Last).UTC()
			if h.First.IsZero() || first.Before(h.First) {
				h.First = first
			}
			if last.After(h.Last) {
				h.Last = last
			}
		}
		if k.SafetyFailed {
			h.SeriousFailures += c.Serious
		}
	}
	t := &Tally{Corrupt: r.Corrupt}
	for _, h := range hours {
		if h.Entries > 0 {
			h.Pool = slices.Clone(r.Pools[rollup.Hour(h.Start)].IDs())
			t.Hours = append(t.Hours, *h)
		}
	}
	slices.SortFunc(t.Hours, func(a, b HourTally) int { return a.Start.Compare(b.Start) })
	for h := range skipped {
		t.Skipped = append(t.Skipped, rollup.HourStart(h))
	}
	slices.SortFunc(t.Skipped, time.Time.Compare)
	for k, c := range r.Detectors {
		t.Detectors = append(t.Detectors, NameTally{Start: rollup.HourStart(k.Hour), Name: k.Name, Entries: c.Entries, SafetyFailures: c.SafetyFailures})
	}
	for k, n := range r.FailedReasons {
		t.Reasons = append(t.Reasons, NameTally{Start: rollup.HourStart(k.Hour), Name: k.Name, Entries: n, SafetyFailures: n})
	}
	byName := func(a, b NameTally) int { return cmp.Or(a.Start.Compare(b.Start), strings.Compare(a.Name, b.Name)) }
	slices.SortFunc(t.Detectors, byName)
	slices.SortFunc(t.Reasons, byName)
	return t, nil
}
