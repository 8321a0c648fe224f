package storetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/complyhq/comply/store"
)

// The rules of store.Segmented.

// segmented returns a new store of h as a store.Segmented, or ErrSkip.
func segmented(t *testing.T, h Harness) (store.Store, store.Segmented, error) {
	s := open(t, h)
	sg, ok := s.(store.Segmented)
	if !ok {
		return nil, nil, fmt.Errorf("%w: not a store.Segmented", ErrSkip)
	}
	if _, err := sg.Segments(t.Context(), store.Query{}); errors.Is(err, errors.ErrUnsupported) {
		return nil, nil, fmt.Errorf("%w: %v", ErrSkip, err)
	}
	return s, sg, nil
}

// checkSegmentsCoverScan: for any bounds, the segments listed, each
// scanned within the bounds, yield exactly what Scan yields; each
// segment's Count and bounds describe what it holds; an unknown segment
// is not found.
func checkSegmentsCoverScan(t *testing.T, h Harness) error {
	s, sg, err := segmented(t, h)
	if err != nil {
		return err
	}
	ctx := t.Context()
	recs := Records(base, 10) // spans midnight: two days
	recs = append(recs, Records(base.Add(72*time.Hour), 3)...)
	if err := appendAll(ctx, s, recs...); err != nil {
		return err
	}
	var errs []error
	for _, q := range []store.Query{
		{},
		{Start: recs[2].Time, End: recs[7].Time},
		{Start: recs[6].Time},
		{End: recs[4].Time},
		{Start: base.Add(time.Hour), End: base.Add(2 * time.Hour)},
	} {
		segs, err := sg.Segments(ctx, q)
		if err != nil {
			return fmt.Errorf("segments %+v: %w", q, err)
		}
		var got []string
		for _, g := range segs {
			for r, err := range sg.ScanSegment(ctx, g.Name, q) {
				if err != nil {
					return fmt.Errorf("scan segment %s: %w", g.Name, err)
				}
				got = append(got, r.ID)
			}
			if q != (store.Query{}) {
				continue
			}
			var n int64
			for r, err := range sg.ScanSegment(ctx, g.Name, store.Query{}) {
				if err != nil {
					return fmt.Errorf("scan segment %s: %w", g.Name, err)
				}
				n++
				if r.Time.Before(g.Min) || r.Time.After(g.Max) {
					errs = append(errs, fmt.Errorf("segment %s holds a record at %v, outside its bounds %v..%v", g.Name, r.Time, g.Min, g.Max))
				}
			}
			if n != g.Count {
				errs = append(errs, fmt.Errorf("segment %s says %d records and holds %d", g.Name, g.Count, n))
			}
		}
		want, err := collect(ctx, s, q)
		if err != nil {
			return err
		}
		ids := IDs(want)
		slices.Sort(ids)
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			errs = append(errs, fmt.Errorf("segments of %+v yield %v, Scan %v", q, got, ids))
		}
	}
	var nf error
	for _, err := range sg.ScanSegment(ctx, "no-such-segment", store.Query{}) {
		nf = err
	}
	if !errors.Is(nf, store.ErrNotFound) {
		errs = append(errs, fmt.Errorf("ScanSegment of an unknown segment: %v, want ErrNotFound", nf))
	}
	return errors.Join(errs...)
}

// checkSegmentVersions: a segment's Version changes when its content does
// (an append, a Delete, an Expire), and only the segments changed change.
func checkSegmentVersions(t *testing.T, h Harness) error {
	s, sg, err := segmented(t, h)
	if err != nil {
		return err
	}
	ctx := t.Context()
	day1 := Records(base.Add(-48*time.Hour), 3)
	day2 := Records(base.Add(-24*time.Hour), 3)
	if err := appendAll(ctx, s, append(slices.Clone(day1), day2...)...); err != nil {
		return err
	}
	versions := func() (map[string]string, error) {
		segs, err := sg.Segments(ctx, store.Query{})
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, g := range segs {
			m[g.Name] = g.Version
		}
		return m, nil
	}
	before, err := versions()
	if err != nil {
		return err
	}
	steps := []struct {
		name string
		do   func() error
	}{
		{"append", func() error { return appendAll(ctx, s, Records(day2[2].Time.Add(time.Second), 1)...) }},
		{"delete", func() error { return s.Delete(ctx, day2[1].ID) }},
		{"expire", func() error { _, err := s.Expire(ctx, day1[1].Time); return err }},
	}
	var errs []error
	for _, st := range steps {
		if err := st.do(); err != nil {
			return fmt.Errorf("%s: %w", st.name, err)
		}
		after, err := versions()
		if err != nil {
			return err
		}
		changed := 0
		for name, v := range after {
			if old, ok := before[name]; !ok || old != v {
				changed++
			}
		}
		changed += len(before) - min(len(before), len(after))
		if changed == 0 {
			errs = append(errs, fmt.Errorf("%s changed no segment's version", st.name))
		}
		before = after
	}
	// Nothing done: nothing changes.
	again, err := versions()
	if err != nil {
		return err
	}
	for name, v := range again {
		if before[name] != v {
			errs = append(errs, fmt.Errorf("segment %s changed version with no change", name))
		}
	}
	return errors.Join(errs...)
}
