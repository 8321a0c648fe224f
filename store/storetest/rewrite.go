package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"testing"

	"github.com/complyhq/comply/store"
)

// The rule of store.Rewriter.

// checkRewrite: Rewrite replaces the lines fn changes in one segment and
// no other, says how many, keeps ids, times and the count; a Rewrite whose
// fn fails changes nothing; the observer does not see rewritten lines.
func checkRewrite(t *testing.T, h Harness) error {
	s, sg, err := segmented(t, h)
	if err != nil {
		return err
	}
	rw, ok := s.(store.Rewriter)
	if !ok {
		return fmt.Errorf("%w: not a store.Rewriter", ErrSkip)
	}
	observed := 0
	if o, ok := s.(store.Observable); ok {
		o.Observe(func(recs []store.Record) { observed += len(recs) })
	}
	ctx := t.Context()
	recs := Records(base, 10) // spans midnight: two days
	if err := appendAll(ctx, s, recs...); err != nil {
		return err
	}
	before := observed
	segs, err := sg.Segments(ctx, store.Query{})
	if err != nil || len(segs) < 2 {
		return fmt.Errorf("segments: %d, %v; want two", len(segs), err)
	}
	first := segs[0].Name
	inFirst := map[string]bool{}
	for r, err := range sg.ScanSegment(ctx, first, store.Query{}) {
		if err != nil {
			return fmt.Errorf("scan segment %s: %w", first, err)
		}
		inFirst[r.ID] = true
	}
	mark := func(l []byte) []byte { return bytes.Replace(l, []byte(`"model-`), []byte(`"rewrapped-`), 1) }
	boom := errors.New("boom")
	calls := 0
	failLate := func(r store.Record) ([]byte, bool, error) {
		if calls++; calls > 1 {
			return nil, false, boom
		}
		return mark(r.Line), true, nil
	}
	if _, err := rw.Rewrite(ctx, first, failLate); !errors.Is(err, boom) {
		return fmt.Errorf("Rewrite whose fn fails: %v, want the fn's error", err)
	}
	if got, err := s.Get(ctx, recs[0].ID); err != nil || !bytes.Equal(got.Line, recs[0].Line) {
		return fmt.Errorf("a Rewrite whose fn failed changed a line (%v)", err)
	}
	n, err := rw.Rewrite(ctx, first, func(r store.Record) ([]byte, bool, error) { return mark(r.Line), true, nil })
	if err != nil {
		return fmt.Errorf("Rewrite: %w", err)
	}
	if observed != before {
		return fmt.Errorf("the observer saw %d rewritten lines", observed-before)
	}
	want := 0
	for _, r := range recs {
		got, err := s.Get(ctx, r.ID)
		if err != nil {
			return fmt.Errorf("Get %s after Rewrite: %w", r.ID, err)
		}
		exp := r.Line
		if inFirst[r.ID] {
			exp = mark(r.Line)
			want++
		}
		if !bytes.Equal(got.Line, exp) || !got.Time.Equal(r.Time) {
			return fmt.Errorf("Get %s after Rewrite: line %q, want %q", r.ID, got.Line, exp)
		}
	}
	if n != int64(want) {
		return fmt.Errorf("Rewrite returned %d, want %d", n, want)
	}
	if err := expectCount(ctx, s, "after Rewrite", len(recs)); err != nil {
		return err
	}
	if _, err := rw.Rewrite(ctx, "no-such-segment", func(r store.Record) ([]byte, bool, error) { return nil, false, nil }); !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("Rewrite of an unknown segment: %v, want ErrNotFound", err)
	}
	return nil
}
