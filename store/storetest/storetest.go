// Package storetest is the conformance suite for store.Store
// implementations, in the manner of testing/slogtest: every backend (memory,
// file, S3) runs the same rules, so they keep one contract.
//
// Each rule of the store package's documentation is a Rule: a check that
// returns an error when a store breaks it. Run runs them all as subtests;
// the package's own tests run each one against a deliberately broken store
// and see it fail.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/store"
)

// Harness says how to make the store under test and what it promises
// beyond the common contract.
type Harness struct {
	// New returns a new, empty store. It is called once or more per rule,
	// concurrently (the rules run in parallel); the suite closes the
	// stores it makes.
	New func(t *testing.T) store.Store
	// Reopen, if set, closes s and opens the same storage again, for the
	// persistence rule.
	Reopen func(t *testing.T, s store.Store) store.Store
	// MaxLine, if positive, is the longest line the store accepts: the
	// suite checks that a longer one is refused.
	MaxLine int
	// DayPartitions says that the store keeps each UTC day in partitions
	// of its own (the file and S3 stores), which Scan reads in ascending
	// time whatever order the days were appended in. A store without it
	// (memstore) is one partition, read in append order.
	DayPartitions bool
	// Stall, if set, makes s wait, as a slow disk or bucket would, until
	// release is called: Appends started meanwhile stay waiting. It is nil
	// for a store that never waits on anything but its own brief locks
	// (memstore).
	Stall func(t *testing.T, s store.Store) (release func())
}

// A Rule is one rule of the store contract, as a check: Check returns nil
// if the stores h makes keep it, an error saying how they break it, or an
// error wrapping ErrSkip if the rule does not apply to them. Check uses t
// only to make and clean up stores (h.New, t.Cleanup, t.Context); it never
// fails t itself.
type Rule struct {
	Name  string
	Check func(t *testing.T, h Harness) error
}

// ErrSkip is wrapped by the error of a rule that does not apply to a store
// (a capability it lacks, a Harness field left unset).
var ErrSkip = errors.New("rule does not apply")

// Rules returns every rule of the contract, in a fixed order.
func Rules() []Rule {
	return []Rule{
		{"AppendGet", checkAppendGet},
		{"ReadYourWrites", checkReadYourWrites},
		{"RejectInvalid", checkRejectInvalid},
		{"NotFound", checkNotFound},
		{"ScanInclusiveBounds", checkScanBounds},
		{"ScanOrder", checkScanOrder},
		{"CountMatchesScan", checkCountMatchesScan},
		{"Delete", checkDelete},
		{"Expire", checkExpire},
		{"ConcurrentAppend", checkConcurrentAppend},
		{"BatchAppend", checkBatchAppend},
		{"NoAliasing", checkNoAliasing},
		{"KeepReturned", checkKeepReturned},
		{"Closed", checkClosed},
		{"CanceledContext", checkCanceled},
		{"CancelScan", checkCancelScan},
		{"CancelWhileWaiting", checkCancelWhileWaiting},
		{"Reopen", checkReopen},
		{"SidecarNotFound", checkSidecarNotFound},
		{"SidecarBlobNames", checkSidecarBlobNames},
		{"SidecarReplace", checkSidecarReplace},
		{"SidecarNoAliasing", checkSidecarNoAliasing},
		{"SidecarListSorted", checkSidecarListSorted},
		{"SidecarNotEntries", checkSidecarNotEntries},
		{"Observe", checkObserve},
		{"Sync", checkSync},
		{"Shared", checkShared},
		{"SegmentsCoverScan", checkSegmentsCoverScan},
		{"SegmentVersions", checkSegmentVersions},
		{"Rewrite", checkRewrite},
		{"Destroy", checkDestroy},
	}
}

// Run runs every rule against the stores h makes, each as a parallel
// subtest named after the rule.
func Run(t *testing.T, h Harness) {
	for _, r := range Rules() {
		t.Run(r.Name, func(t *testing.T) {
			t.Parallel()
			err := r.Check(t, h)
			switch {
			case errors.Is(err, ErrSkip):
				t.Skip(err)
			case err != nil:
				t.Error(err)
			}
		})
	}
}

// waitLimit is how long a rule waits for a method that should return
// promptly.
var waitLimit = 5 * time.Second

// base is a fixed time near the end of a UTC day, so that the records of a
// rule span two days and two partitions.
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

// Collect returns every record of a scan of s for q, failing t on any error.
func Collect(t testing.TB, s store.Store, q store.Query) []store.Record {
	t.Helper()
	out, err := collect(t.Context(), s, q)
	if err != nil {
		t.Fatal(err)
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

// open makes a store that is closed when the rule ends.
func open(t *testing.T, h Harness) store.Store {
	s := h.New(t)
	t.Cleanup(func() { s.Close() })
	return s
}

func appendAll(ctx context.Context, s store.Store, recs ...store.Record) error {
	if err := s.Append(ctx, recs...); err != nil {
		return fmt.Errorf("Append: %w", err)
	}
	return nil
}

// appendEach appends recs one Append at a time.
func appendEach(ctx context.Context, s store.Store, recs ...store.Record) error {
	for _, r := range recs {
		if err := appendAll(ctx, s, r); err != nil {
			return err
		}
	}
	return nil
}

func collect(ctx context.Context, s store.Store, q store.Query) ([]store.Record, error) {
	var out []store.Record
	for r, err := range s.Scan(ctx, q) {
		if err != nil {
			return out, fmt.Errorf("Scan: %w", err)
		}
		out = append(out, r)
	}
	return out, nil
}

func count(ctx context.Context, s store.Store) (int64, error) {
	n, err := s.Count(ctx)
	if err != nil {
		return 0, fmt.Errorf("Count: %w", err)
	}
	return n, nil
}

// expectIDs scans s for q and compares the ids with want's.
func expectIDs(ctx context.Context, s store.Store, q store.Query, what string, want []store.Record) error {
	got, err := collect(ctx, s, q)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !slices.Equal(IDs(got), IDs(want)) {
		return fmt.Errorf("%s: Scan ids = %v, want %v", what, IDs(got), IDs(want))
	}
	return nil
}

// expectCount checks that Count says n and that a full Scan yields n
// records.
func expectCount(ctx context.Context, s store.Store, what string, n int) error {
	c, err := count(ctx, s)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	got, err := collect(ctx, s, store.Query{})
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if c != int64(n) || len(got) != n {
		return fmt.Errorf("%s: Count = %d and Scan yields %d records, want %d", what, c, len(got), n)
	}
	return nil
}

func sameRecord(got, want store.Record) error {
	if got.ID != want.ID || !got.Time.Equal(want.Time) || !bytes.Equal(got.Line, want.Line) {
		return fmt.Errorf("record mismatch:\n got  %s %s %q\n want %s %s %q", got.ID, got.Time, got.Line, want.ID, want.Time, want.Line)
	}
	return nil
}

// getSame checks that Get returns want.
func getSame(ctx context.Context, s store.Store, want store.Record) error {
	got, err := s.Get(ctx, want.ID)
	if err != nil {
		return fmt.Errorf("Get(%s): %w", want.ID, err)
	}
	return sameRecord(got, want)
}
