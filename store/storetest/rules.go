package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/complyhq/comply/store"
)

// checkAppendGet: Get returns an acknowledged record exactly: id, time and
// line.
func checkAppendGet(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	recs := Records(base, 10)
	if err := appendEach(ctx, s, recs...); err != nil {
		return err
	}
	for _, want := range recs {
		if err := getSame(ctx, s, want); err != nil {
			return err
		}
	}
	return nil
}

// checkReadYourWrites: Get, Scan and Count see an acknowledged record at
// once.
func checkReadYourWrites(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	recs := Records(base, 6)
	for i, r := range recs {
		if err := appendAll(ctx, s, r); err != nil {
			return err
		}
		if err := getSame(ctx, s, r); err != nil {
			return fmt.Errorf("right after Append: %w", err)
		}
		if err := expectCount(ctx, s, "right after Append", i+1); err != nil {
			return err
		}
	}
	return nil
}

// checkRejectInvalid: Append refuses what Record.Check refuses and stores
// none of the batch; Count and Scan agree afterwards.
func checkRejectInvalid(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	good := Records(base, 2)
	with := func(f func(r *store.Record)) store.Record {
		r := Records(base.Add(time.Minute), 1)[0]
		f(&r)
		return r
	}
	tests := []struct {
		name string
		rec  store.Record
	}{
		{"no id", with(func(r *store.Record) { r.ID = "" })},
		{"zero time", with(func(r *store.Record) { r.Time = time.Time{} })},
		{"nil line", with(func(r *store.Record) { r.Line = nil })},
		{"empty line", with(func(r *store.Record) { r.Line = []byte{} })},
		{"newline in line", with(func(r *store.Record) { r.Line = append(r.Line[:len(r.Line)-1:len(r.Line)-1], "\n}"...) })},
		{"trailing newline", with(func(r *store.Record) { r.Line = append(r.Line[:len(r.Line):len(r.Line)], '\n') })},
	}
	if h.MaxLine > 0 {
		tests = append(tests, struct {
			name string
			rec  store.Record
		}{"over-long line", with(func(r *store.Record) {
			r.Line = append(r.Line[:len(r.Line)-1:len(r.Line)-1], `,"pad":"`+strings.Repeat("x", h.MaxLine)+`"}`...)
		})})
	}
	var errs []error
	for _, tt := range tests {
		if err := s.Append(ctx, tt.rec); err == nil {
			errs = append(errs, fmt.Errorf("Append accepted a record with %s", tt.name))
		}
		if err := s.Append(ctx, good[0], tt.rec, good[1]); err == nil {
			errs = append(errs, fmt.Errorf("Append accepted a batch with a record with %s", tt.name))
		}
		if err := expectCount(ctx, s, "after refused Appends ("+tt.name+")", 0); err != nil {
			errs = append(errs, err)
			break
		}
	}
	return errors.Join(errs...)
}

// checkNotFound: Get and Delete of an unknown id return errors wrapping
// store.ErrNotFound.
func checkNotFound(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	if err := appendAll(ctx, s, Records(base, 3)...); err != nil {
		return err
	}
	var errs []error
	for _, id := range []string{"0199c6f8-d620-77e7-b458-943e08b4aa7b", "not-a-uuid", ""} {
		if _, err := s.Get(ctx, id); !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Errorf("Get(%q) error = %v, want ErrNotFound", id, err))
		}
	}
	if err := s.Delete(ctx, "0199c6f8-d620-77e7-b458-943e08b4aa7b"); !errors.Is(err, store.ErrNotFound) {
		errs = append(errs, fmt.Errorf("Delete of an unknown id: %v, want ErrNotFound", err))
	}
	return errors.Join(errs...)
}

// checkScanBounds: Scan's time bounds are inclusive on both ends; a zero
// bound is unbounded.
func checkScanBounds(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	recs := Records(base, 10) // spans midnight
	if err := appendAll(ctx, s, recs...); err != nil {
		return err
	}
	tests := []struct {
		name string
		q    store.Query
		want []store.Record
	}{
		{"unbounded", store.Query{}, recs},
		{"inclusive both ends", store.Query{Start: recs[2].Time, End: recs[5].Time}, recs[2:6]},
		{"start only", store.Query{Start: recs[7].Time}, recs[7:]},
		{"end only", store.Query{End: recs[1].Time}, recs[:2]},
		{"single instant", store.Query{Start: recs[4].Time, End: recs[4].Time}, recs[4:5]},
		{"just after", store.Query{Start: recs[4].Time.Add(time.Microsecond), End: recs[5].Time.Add(-time.Microsecond)}, nil},
		{"before all", store.Query{End: base.Add(-time.Hour)}, nil},
		{"after all", store.Query{Start: base.Add(time.Hour)}, nil},
	}
	var errs []error
	for _, tt := range tests {
		errs = append(errs, expectIDs(ctx, s, tt.q, tt.name, tt.want))
	}
	return errors.Join(errs...)
}

// checkScanOrder: records come back in append order within a partition
// (even when that is not time order), partitions in ascending time.
func checkScanOrder(t *testing.T, h Harness) error {
	ctx := t.Context()
	s := open(t, h)
	recs := Records(base, 50)
	if err := appendEach(ctx, s, recs...); err != nil {
		return err
	}
	if err := expectIDs(ctx, s, store.Query{}, "appended in time order", recs); err != nil {
		return err
	}

	// A later day appended first, each day's records out of time order.
	s = open(t, h)
	later := Records(base.Add(time.Hour), 8)
	slices.Reverse(later)
	earlier := Records(base.Add(-time.Hour), 4)
	earlier[1], earlier[2] = earlier[2], earlier[1]
	if err := appendEach(ctx, s, later...); err != nil {
		return err
	}
	if err := appendAll(ctx, s, earlier...); err != nil {
		return err
	}
	want := slices.Concat(later, earlier)
	what := "one partition: append order"
	if h.DayPartitions {
		want, what = slices.Concat(earlier, later), "days ascending, each in append order"
	}
	return expectIDs(ctx, s, store.Query{}, what, want)
}

// checkCountMatchesScan: Count equals the number of records a full Scan
// yields, after appends, a delete and an expiry.
func checkCountMatchesScan(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	if err := expectCount(ctx, s, "empty store", 0); err != nil {
		return err
	}
	recs := Records(base, 7)
	if err := appendAll(ctx, s, recs...); err != nil {
		return err
	}
	if err := expectCount(ctx, s, "after Append", 7); err != nil {
		return err
	}
	if err := s.Delete(ctx, recs[6].ID); err != nil {
		return fmt.Errorf("Delete: %w", err)
	}
	if err := expectCount(ctx, s, "after Delete", 6); err != nil {
		return err
	}
	if _, err := s.Expire(ctx, recs[2].Time); err != nil {
		return fmt.Errorf("Expire: %w", err)
	}
	return expectCount(ctx, s, "after Expire", 4)
}

// checkDelete: a deleted record is gone from Get, Scan and Count; the
// others stay.
func checkDelete(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	recs := Records(base, 6)
	if err := appendAll(ctx, s, recs...); err != nil {
		return err
	}
	if err := s.Delete(ctx, recs[2].ID); err != nil {
		return fmt.Errorf("Delete: %w", err)
	}
	if _, err := s.Get(ctx, recs[2].ID); !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, recs[2].ID); !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("second Delete: %v, want ErrNotFound", err)
	}
	want := slices.Concat(recs[:2], recs[3:])
	if err := expectCount(ctx, s, "after Delete", len(want)); err != nil {
		return err
	}
	if err := expectIDs(ctx, s, store.Query{}, "after Delete", want); err != nil {
		return err
	}
	for _, r := range want {
		if err := getSame(ctx, s, r); err != nil {
			return fmt.Errorf("a kept record after Delete: %w", err)
		}
	}
	return nil
}

// checkExpire: Expire removes the records strictly before the cutoff and
// says how many.
func checkExpire(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	recs := Records(base, 10)
	if err := appendAll(ctx, s, recs...); err != nil {
		return err
	}
	n, err := s.Expire(ctx, recs[5].Time)
	if err != nil {
		return fmt.Errorf("Expire: %w", err)
	}
	if n != 5 {
		return fmt.Errorf("Expire removed %d, want 5 (strictly before the cutoff)", n)
	}
	if err := expectIDs(ctx, s, store.Query{}, "after Expire", recs[5:]); err != nil {
		return err
	}
	if _, err := s.Get(ctx, recs[0].ID); !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("Get of an expired record: %v, want ErrNotFound", err)
	}
	if err := expectCount(ctx, s, "after Expire", 5); err != nil {
		return err
	}
	if n, err := s.Expire(ctx, recs[5].Time); err != nil || n != 0 {
		return fmt.Errorf("second Expire = %d, %v; want 0, nil", n, err)
	}
	if err := appendAll(ctx, s, Records(base.Add(time.Hour), 2)...); err != nil {
		return err
	}
	return expectCount(ctx, s, "after appending past Expire", 7)
}

// checkConcurrentAppend: concurrent Appends all land, whole.
func checkConcurrentAppend(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	const writers, each = 8, 50
	var wg sync.WaitGroup
	all := make([][]store.Record, writers)
	errs := make([]error, writers)
	for w := range writers {
		all[w] = Records(base.Add(time.Duration(w)*time.Millisecond), each)
		for i := range all[w] {
			all[w][i] = Record(fmt.Sprintf("%s%02d", all[w][i].ID[:34], w), all[w][i].Time, "m")
		}
		wg.Go(func() { errs[w] = appendEach(ctx, s, all[w]...) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := expectCount(ctx, s, "after concurrent Appends", writers*each); err != nil {
		return err
	}
	for _, recs := range all {
		for _, want := range recs {
			if err := getSame(ctx, s, want); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkBatchAppend: one Append of many records stores them all, in order.
func checkBatchAppend(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	recs := Records(base, 1000)
	if err := appendAll(ctx, s, recs...); err != nil {
		return err
	}
	if err := expectCount(ctx, s, "after a batch", len(recs)); err != nil {
		return err
	}
	return expectIDs(ctx, s, store.Query{}, "a batch", recs)
}

// checkNoAliasing: the store keeps no reference to an appended line, and
// hands out copies.
func checkNoAliasing(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	recs := Records(base, 2)
	want := []store.Record{recs[0], recs[1]}
	for i := range want {
		want[i].Line = slices.Clone(recs[i].Line)
	}
	if err := appendAll(ctx, s, recs[0]); err != nil {
		return err
	}
	if err := appendAll(ctx, s, recs[1:]...); err != nil {
		return err
	}
	for i := range recs {
		clear(recs[i].Line) // the caller reuses its buffers
	}
	for _, w := range want {
		if err := getSame(ctx, s, w); err != nil {
			return fmt.Errorf("after the caller reused the appended line: %w", err)
		}
	}
	got, err := s.Get(ctx, want[0].ID)
	if err != nil {
		return fmt.Errorf("Get: %w", err)
	}
	clear(got.Line)
	if err := getSame(ctx, s, want[0]); err != nil {
		return fmt.Errorf("after the caller changed a record Get returned: %w", err)
	}
	return nil
}

// checkKeepReturned: the records a Scan yields may be kept: later scans
// and appends leave them unchanged.
func checkKeepReturned(t *testing.T, h Harness) error {
	s, ctx := open(t, h), t.Context()
	recs := Records(base, 20)
	if err := appendAll(ctx, s, recs...); err != nil {
		return err
	}
	kept, err := collect(ctx, s, store.Query{})
	if err != nil {
		return err
	}
	if err := appendAll(ctx, s, Records(base.Add(time.Minute), 5)...); err != nil {
		return err
	}
	if _, err := collect(ctx, s, store.Query{}); err != nil {
		return err
	}
	if len(kept) != len(recs) {
		return fmt.Errorf("Scan yielded %d records, want %d", len(kept), len(recs))
	}
	for i := range kept {
		if err := sameRecord(kept[i], recs[i]); err != nil {
			return fmt.Errorf("a record kept from a Scan changed: %w", err)
		}
	}
	return nil
}

// checkClosed: every method after Close returns an error wrapping
// store.ErrClosed; a second Close returns nil.
func checkClosed(t *testing.T, h Harness) error {
	s, ctx := h.New(t), t.Context()
	recs := Records(base, 1)
	if err := appendAll(ctx, s, recs...); err != nil {
		s.Close()
		return err
	}
	if err := s.Close(); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	calls := []struct {
		name string
		call func() error
	}{
		{"Append", func() error { return s.Append(ctx, Records(base.Add(time.Hour), 1)...) }},
		{"Get", func() error { _, err := s.Get(ctx, recs[0].ID); return err }},
		{"Scan", func() error { _, err := collect(ctx, s, store.Query{}); return err }},
		{"Count", func() error { _, err := s.Count(ctx); return err }},
		{"Delete", func() error { return s.Delete(ctx, recs[0].ID) }},
		{"Expire", func() error { _, err := s.Expire(ctx, base.Add(time.Hour)); return err }},
	}
	if sc, ok := s.(store.Sidecar); ok {
		calls = append(calls, []struct {
			name string
			call func() error
		}{
			{"WriteBlob", func() error { return sc.WriteBlob(ctx, "x/y", []byte("z")) }},
			{"ReadBlob", func() error { _, err := sc.ReadBlob(ctx, "x/y"); return err }},
			{"ListBlobs", func() error { _, err := sc.ListBlobs(ctx, ""); return err }},
		}...)
	}
	if sy, ok := s.(store.Syncer); ok {
		calls = append(calls, struct {
			name string
			call func() error
		}{"Sync", func() error { return sy.Sync(ctx) }})
	}
	var errs []error
	for _, c := range calls {
		if err := c.call(); !errors.Is(err, store.ErrClosed) {
			errs = append(errs, fmt.Errorf("%s after Close: %v, want ErrClosed", c.name, err))
		}
	}
	if err := s.Close(); err != nil {
		errs = append(errs, fmt.Errorf("second Close: %w", err))
	}
	return errors.Join(errs...)
}

// checkCanceled: with a cancelled ctx, Append returns ctx.Err() and stores
// nothing, and Scan yields ctx.Err() and no record.
func checkCanceled(t *testing.T, h Harness) error {
	s := open(t, h)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Append(ctx, Records(base, 1)...); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("Append with a cancelled context: %v, want context.Canceled", err)
	}
	if err := expectCount(t.Context(), s, "after a cancelled Append", 0); err != nil {
		return err
	}
	if err := appendAll(t.Context(), s, Records(base, 1)...); err != nil {
		return err
	}
	n := 0
	for _, err := range s.Scan(ctx, store.Query{}) {
		if !errors.Is(err, context.Canceled) {
			return fmt.Errorf("Scan with a cancelled context yielded %v, want context.Canceled", err)
		}
		n++
	}
	if n == 0 {
		return errors.New("Scan with a cancelled context yielded nothing: it looks complete")
	}
	return nil
}

// checkCancelScan: a Scan whose ctx is cancelled midway yields an error
// wrapping ctx.Err() before it ends, so that it never looks complete.
func checkCancelScan(t *testing.T, h Harness) error {
	s := open(t, h)
	recs := Records(base, 600)
	if err := appendAll(t.Context(), s, recs...); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	n := 0
	for _, err := range s.Scan(ctx, store.Query{}) {
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				return fmt.Errorf("Scan cancelled midway yielded %v, want context.Canceled", err)
			}
			return nil
		}
		n++
		cancel()
	}
	return fmt.Errorf("Scan cancelled after its first record yielded %d of %d records and ended without an error", n, len(recs))
}

// checkCancelWhileWaiting: an Append waiting on a stalled store returns
// promptly once its ctx is cancelled, unacknowledged (or, if it did not
// need to wait, acknowledged); no partial record is left behind.
func checkCancelWhileWaiting(t *testing.T, h Harness) error {
	if h.Stall == nil {
		return fmt.Errorf("no Harness.Stall: %w", ErrSkip)
	}
	s := open(t, h)
	rec := Records(base, 1)[0]
	release := h.Stall(t, s)
	released := false
	defer func() {
		if !released {
			release()
		}
	}()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- s.Append(ctx, rec) }()
	// Give the Append time to reach its wait. If it has not, it sees the
	// cancelled ctx at its start: the check is weaker, never wrong.
	time.Sleep(20 * time.Millisecond)
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(waitLimit):
		release()
		released = true
		<-done
		return fmt.Errorf("Append did not return within %v of its ctx being cancelled while the store was stalled", waitLimit)
	}
	release()
	released = true
	if err != nil && !errors.Is(err, context.Canceled) {
		return fmt.Errorf("Append cancelled while waiting: %v, want context.Canceled or nil", err)
	}
	if err == nil {
		if gerr := getSame(t.Context(), s, rec); gerr != nil {
			return fmt.Errorf("an Append that returned nil: %w", gerr)
		}
	}
	// Abandoned, the record may still be written (even later), but whole;
	// and the store goes on working.
	next := Records(base.Add(time.Minute), 1)[0]
	if err := appendAll(t.Context(), s, next); err != nil {
		return fmt.Errorf("after a cancelled Append: %w", err)
	}
	got, cerr := collect(t.Context(), s, store.Query{})
	if cerr != nil {
		return cerr
	}
	for _, r := range got {
		if !(r.ID == rec.ID && bytes.Equal(r.Line, rec.Line) || r.ID == next.ID && bytes.Equal(r.Line, next.Line)) {
			return fmt.Errorf("after a cancelled Append the store holds %s %q", r.ID, r.Line)
		}
	}
	if !slices.Contains(IDs(got), next.ID) {
		return fmt.Errorf("after a cancelled Append, the next one is lost: Scan ids = %v", IDs(got))
	}
	return nil
}

// checkReopen: what was acknowledged, and deleted, survives closing and
// opening the storage again.
func checkReopen(t *testing.T, h Harness) error {
	if h.Reopen == nil {
		return fmt.Errorf("store is not persistent: %w", ErrSkip)
	}
	ctx := t.Context()
	s := h.New(t)
	recs := Records(base, 20)
	err := errors.Join(appendAll(ctx, s, recs[:10]...), appendEach(ctx, s, recs[10:]...), s.Delete(ctx, recs[3].ID))
	if err != nil {
		s.Close()
		return err
	}
	s = h.Reopen(t, s)
	t.Cleanup(func() { s.Close() })
	want := slices.Concat(recs[:3], recs[4:])
	if err := expectIDs(ctx, s, store.Query{}, "after reopen", want); err != nil {
		return err
	}
	for _, r := range want {
		if err := getSame(ctx, s, r); err != nil {
			return fmt.Errorf("after reopen: %w", err)
		}
	}
	if err := expectCount(ctx, s, "after reopen", len(want)); err != nil {
		return err
	}
	if err := appendAll(ctx, s, Records(base.Add(time.Minute), 3)...); err != nil {
		return err
	}
	return expectCount(ctx, s, "after appending to a reopened store", len(want)+3)
}
