// Package storetest is the conformance suite for store.Store
// implementations, in the manner of testing/slogtest: every backend (memory,
// file, S3) runs the same tests, so they keep one contract.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/store"
)

// Harness says how to make the store under test.
type Harness struct {
	// New returns a new, empty store. It is called once per subtest; the
	// suite closes the store.
	New func(t *testing.T) store.Store
	// Reopen, if set, closes s and opens the same storage again, for the
	// persistence tests.
	Reopen func(t *testing.T, s store.Store) store.Store
}

// Run runs the conformance suite against the stores h makes.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"AppendGet", testAppendGet},
		{"NotFound", testNotFound},
		{"ScanInclusiveBounds", testScanBounds},
		{"ScanOrder", testScanOrder},
		{"Count", testCount},
		{"Delete", testDelete},
		{"Expire", testExpire},
		{"ConcurrentAppend", testConcurrentAppend},
		{"NoAliasing", testNoAliasing},
		{"BatchAppend", testBatchAppend},
		{"Closed", testClosed},
		{"CanceledContext", testCanceled},
		{"Reopen", testReopen},
		{"Sidecar", testSidecar},
		{"Observe", testObserve},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

// base is a fixed time near the end of a UTC day, so that the records of a
// test span two days and two partitions.
var base = time.Date(2026, 11, 24, 23, 59, 55, 123456000, time.UTC)

// Records returns n records one second apart from start, with valid lines
// in the seed schema and version-7 style ids that sort by time.
func Records(start time.Time, n int) []store.Record {
	recs := make([]store.Record, n)
	for i := range recs {
		ts := start.Add(time.Duration(i) * time.Second)
		id := fmt.Sprintf("%08x-%04x-7%03x-8%03x-%012x", ts.Unix(), ts.Nanosecond()/1000%0x10000, i%0x1000, i/0x1000%0x1000, i)
		recs[i] = Record(id, ts, fmt.Sprintf("model-%d", i%3))
	}
	return recs
}

// Record returns one record with a valid seed line for id and ts.
func Record(id string, ts time.Time, model string) store.Record {
	e := line.Entry{
		ID:         id,
		Timestamp:  ts,
		InputHash:  "52cb6b5e4a038af1756708f98afb718a08c75b87b2f03dbee4dd9c8139c15c5e",
		OutputHash: "4b227777d4dd1fc61c6f884f48641d02b4d121d3fd328cb08b5531fcacdabf8a",
		Provider:   "openai",
		Model:      model,
		LatencyMS:  12.5,
	}
	e.SafetyPassed = true
	b, err := line.Append(nil, &e)
	if err != nil {
		panic(err)
	}
	return store.Record{ID: id, Time: ts.UTC().Truncate(time.Microsecond), Line: b}
}

func open(t *testing.T, h Harness) store.Store {
	t.Helper()
	s := h.New(t)
	t.Cleanup(func() { s.Close() })
	return s
}

func mustAppend(t *testing.T, s store.Store, recs ...store.Record) {
	t.Helper()
	if err := s.Append(t.Context(), recs...); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

// Collect returns every record of a scan of s for q, failing t on any error.
func Collect(t testing.TB, s store.Store, q store.Query) []store.Record {
	t.Helper()
	var out []store.Record
	for r, err := range s.Scan(t.Context(), q) {
		if err != nil {
			t.Fatalf("Scan: %v", err)
		}
		out = append(out, r)
	}
	return out
}

// IDs returns the ids of recs, in order.
func IDs(recs []store.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

func sameRecord(t *testing.T, got, want store.Record) {
	t.Helper()
	if got.ID != want.ID || !got.Time.Equal(want.Time) || !bytes.Equal(got.Line, want.Line) {
		t.Fatalf("record mismatch:\n got  %s %s %q\n want %s %s %q", got.ID, got.Time, got.Line, want.ID, want.Time, want.Line)
	}
}

func testAppendGet(t *testing.T, h Harness) {
	s := open(t, h)
	recs := Records(base, 10)
	for _, r := range recs {
		mustAppend(t, s, r)
	}
	for _, want := range recs {
		got, err := s.Get(t.Context(), want.ID)
		if err != nil {
			t.Fatalf("Get(%s): %v", want.ID, err)
		}
		sameRecord(t, got, want)
	}
}

func testNotFound(t *testing.T, h Harness) {
	s := open(t, h)
	mustAppend(t, s, Records(base, 3)...)
	for _, id := range []string{"0199c6f8-d620-77e7-b458-943e08b4aa7b", "not-a-uuid", ""} {
		if _, err := s.Get(t.Context(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%q) error = %v, want ErrNotFound", id, err)
		}
	}
}

func testScanBounds(t *testing.T, h Harness) {
	s := open(t, h)
	recs := Records(base, 10) // spans midnight
	mustAppend(t, s, recs...)
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Collect(t, s, tt.q)
			if !slices.Equal(IDs(got), IDs(tt.want)) {
				t.Fatalf("Scan ids = %v, want %v", IDs(got), IDs(tt.want))
			}
		})
	}
}

func testScanOrder(t *testing.T, h Harness) {
	s := open(t, h)
	recs := Records(base, 50)
	for _, r := range recs {
		mustAppend(t, s, r)
	}
	got := Collect(t, s, store.Query{})
	if !slices.Equal(IDs(got), IDs(recs)) {
		t.Fatalf("records appended in time order did not scan back in that order")
	}
	for i := range got {
		sameRecord(t, got[i], recs[i])
	}
}

func count(t *testing.T, s store.Store) int64 {
	t.Helper()
	n, err := s.Count(t.Context())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

func testCount(t *testing.T, h Harness) {
	s := open(t, h)
	if n := count(t, s); n != 0 {
		t.Fatalf("empty store Count = %d", n)
	}
	mustAppend(t, s, Records(base, 7)...)
	if n := count(t, s); n != 7 {
		t.Fatalf("Count = %d, want 7", n)
	}
}

func testDelete(t *testing.T, h Harness) {
	s := open(t, h)
	recs := Records(base, 6)
	mustAppend(t, s, recs...)
	if err := s.Delete(t.Context(), recs[2].ID); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(t.Context(), recs[2].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(t.Context(), recs[2].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
	if n := count(t, s); n != 5 {
		t.Fatalf("Count after Delete = %d, want 5", n)
	}
	want := slices.Concat(recs[:2], recs[3:])
	if got := Collect(t, s, store.Query{}); !slices.Equal(IDs(got), IDs(want)) {
		t.Fatalf("Scan after Delete = %v, want %v", IDs(got), IDs(want))
	}
	for _, r := range want {
		if _, err := s.Get(t.Context(), r.ID); err != nil {
			t.Fatalf("Get(%s) of a kept record after Delete: %v", r.ID, err)
		}
	}
}

func testExpire(t *testing.T, h Harness) {
	s := open(t, h)
	recs := Records(base, 10)
	mustAppend(t, s, recs...)
	n, err := s.Expire(t.Context(), recs[5].Time)
	if err != nil {
		t.Fatalf("Expire: %v", err)
	}
	if n != 5 {
		t.Fatalf("Expire removed %d, want 5 (strictly before the cutoff)", n)
	}
	if got := Collect(t, s, store.Query{}); !slices.Equal(IDs(got), IDs(recs[5:])) {
		t.Fatalf("Scan after Expire = %v, want %v", IDs(got), IDs(recs[5:]))
	}
	if _, err := s.Get(t.Context(), recs[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get of an expired record: %v, want ErrNotFound", err)
	}
	if c := count(t, s); c != 5 {
		t.Fatalf("Count after Expire = %d, want 5", c)
	}
	if n, err := s.Expire(t.Context(), recs[5].Time); err != nil || n != 0 {
		t.Fatalf("second Expire = %d, %v; want 0, nil", n, err)
	}
	mustAppend(t, s, Records(base.Add(time.Hour), 2)...)
	if c := count(t, s); c != 7 {
		t.Fatalf("Count after appending past Expire = %d, want 7", c)
	}
}

func testConcurrentAppend(t *testing.T, h Harness) {
	s := open(t, h)
	const writers, each = 8, 50
	var wg sync.WaitGroup
	all := make([][]store.Record, writers)
	for w := range writers {
		all[w] = Records(base.Add(time.Duration(w)*time.Millisecond), each)
		for i := range all[w] {
			all[w][i].ID = fmt.Sprintf("%s%02d", all[w][i].ID[:34], w)
			all[w][i] = Record(all[w][i].ID, all[w][i].Time, "m")
		}
		wg.Go(func() {
			for _, r := range all[w] {
				if err := s.Append(context.Background(), r); err != nil {
					t.Errorf("Append: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := count(t, s); n != writers*each {
		t.Fatalf("Count = %d, want %d", n, writers*each)
	}
	for _, recs := range all {
		for _, want := range recs {
			got, err := s.Get(t.Context(), want.ID)
			if err != nil {
				t.Fatalf("Get(%s): %v", want.ID, err)
			}
			sameRecord(t, got, want)
		}
	}
}

func testNoAliasing(t *testing.T, h Harness) {
	s := open(t, h)
	r := Records(base, 1)[0]
	want := slices.Clone(r.Line)
	mustAppend(t, s, r)
	clear(r.Line) // the store must have copied the line
	got, err := s.Get(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Line, want) {
		t.Fatalf("store kept a reference to the caller's slice")
	}
	clear(got.Line) // and must hand out copies
	again, err := s.Get(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Line, want) {
		t.Fatalf("store handed out its own slice")
	}
}

func testBatchAppend(t *testing.T, h Harness) {
	s := open(t, h)
	recs := Records(base, 1000)
	mustAppend(t, s, recs...)
	if n := count(t, s); n != 1000 {
		t.Fatalf("Count = %d, want 1000", n)
	}
	if got := Collect(t, s, store.Query{}); !slices.Equal(IDs(got), IDs(recs)) {
		t.Fatalf("batch did not scan back in order")
	}
}

func testClosed(t *testing.T, h Harness) {
	s := h.New(t)
	mustAppend(t, s, Records(base, 1)...)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Append(t.Context(), Records(base, 1)...); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Append after Close: %v, want ErrClosed", err)
	}
	if _, err := s.Get(t.Context(), "x"); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("Get after Close: %v, want ErrClosed", err)
	}
}

func testCanceled(t *testing.T, h Harness) {
	s := open(t, h)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Append(ctx, Records(base, 1)...); !errors.Is(err, context.Canceled) {
		t.Fatalf("Append with a canceled context: %v, want context.Canceled", err)
	}
	for _, err := range s.Scan(ctx, store.Query{}) {
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Scan with a canceled context yielded %v, want context.Canceled", err)
		}
		return
	}
	t.Fatalf("Scan with a canceled context yielded nothing")
}

func testReopen(t *testing.T, h Harness) {
	if h.Reopen == nil {
		t.Skip("store is not persistent")
	}
	s := h.New(t)
	recs := Records(base, 20)
	mustAppend(t, s, recs[:10]...)
	for _, r := range recs[10:] {
		mustAppend(t, s, r)
	}
	if err := s.Delete(t.Context(), recs[3].ID); err != nil {
		t.Fatal(err)
	}
	s = h.Reopen(t, s)
	t.Cleanup(func() { s.Close() })
	want := slices.Concat(recs[:3], recs[4:])
	if got := Collect(t, s, store.Query{}); !slices.Equal(IDs(got), IDs(want)) {
		t.Fatalf("after reopen Scan = %v, want %v", IDs(got), IDs(want))
	}
	for _, r := range want {
		got, err := s.Get(t.Context(), r.ID)
		if err != nil {
			t.Fatalf("Get(%s) after reopen: %v", r.ID, err)
		}
		sameRecord(t, got, r)
	}
	if n := count(t, s); n != int64(len(want)) {
		t.Fatalf("Count after reopen = %d, want %d", n, len(want))
	}
	more := Records(base.Add(time.Minute), 3)
	mustAppend(t, s, more...)
	if n := count(t, s); n != int64(len(want)+3) {
		t.Fatalf("Count after appending to a reopened store = %d", n)
	}
}
