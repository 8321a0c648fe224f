package storetest_test

import (
	"errors"
	"testing"
	"time"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/storetest"
)

func harness(f flaw) storetest.Harness {
	return storetest.Harness{
		New:           func(t *testing.T) store.Store { return newFake(f) },
		Reopen:        func(t *testing.T, s store.Store) store.Store { return s.(*fake).reopen() },
		MaxLine:       1 << 20,
		DayPartitions: false,
		Stall:         func(t *testing.T, s store.Store) func() { return s.(*fake).stall() },
	}
}

// TestSoundFake runs the suite against the sound fake: every rule passes,
// none is skipped, so the broken fakes below fail for their flaw alone.
func TestSoundFake(t *testing.T) {
	t.Parallel()
	for _, r := range storetest.Rules() {
		if err := r.Check(t, harness(sound)); err != nil {
			t.Errorf("%s: %v", r.Name, err)
		}
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, harness(sound))
}

// TestBrokenStoresFail runs each rule against a fake broken in the way
// the rule forbids, and expects it to fail.
func TestBrokenStoresFail(t *testing.T) {
	storetest.SetWaitLimit(200 * time.Millisecond)
	tests := []struct {
		rule string
		flaw flaw
	}{
		{"AppendGet", lateVisibility},
		{"ReadYourWrites", lateVisibility},
		{"RejectInvalid", skipCheck},
		{"NotFound", plainNotFound},
		{"NotFound", deleteUnknownOK},
		{"ScanInclusiveBounds", exclusiveBounds},
		{"ScanOrder", sortByTime},
		{"CountMatchesScan", countDeleted},
		{"Delete", deleteNoop},
		{"Expire", expireAtCutoff},
		{"ConcurrentAppend", racyAppend},
		{"BatchAppend", truncateBatch},
		{"NoAliasing", keepInput},
		{"KeepReturned", reuseScanBuffer},
		{"Closed", forgetClose},
		{"CanceledContext", ignoreCtx},
		{"CancelScan", scanIgnoresCtx},
		{"CancelWhileWaiting", waitIgnoresCtx},
		{"Reopen", forgetOnReopen},
		{"SidecarNotFound", readMissingNil},
		{"SidecarBlobNames", noNameCheck},
		{"SidecarReplace", tornBlob},
		{"SidecarNoAliasing", keepBlob},
		{"SidecarListSorted", unsortedList},
		{"SidecarNotEntries", blobsAsEntries},
		{"Observe", observeReversed},
		{"Sync", syncIgnoresCtx},
		{"Shared", claimsOthers},
		{"SegmentsCoverScan", segmentsMissOne},
		{"SegmentVersions", staticVersion},
		{"Rewrite", rewriteHalf},
		{"Destroy", destroyNoop},
		{"Destroy", createOverwrites},
	}
	rules := map[string]storetest.Rule{}
	for _, r := range storetest.Rules() {
		rules[r.Name] = r
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		r, ok := rules[tt.rule]
		if !ok {
			t.Fatalf("no rule %s", tt.rule)
		}
		covered[tt.rule] = true
		t.Run(tt.rule, func(t *testing.T) {
			t.Parallel()
			err := r.Check(t, harness(tt.flaw))
			switch {
			case err == nil:
				t.Errorf("a store with flaw %d passes %s", tt.flaw, tt.rule)
			case errors.Is(err, storetest.ErrSkip):
				t.Errorf("%s skipped a store with every capability: %v", tt.rule, err)
			default:
				t.Logf("fails as it should: %v", err)
			}
		})
	}
	for name := range rules {
		if !covered[name] {
			t.Errorf("rule %s has no broken store that fails it", name)
		}
	}
}

// TestSkips: a rule about a capability skips a store without it.
func TestSkips(t *testing.T) {
	t.Parallel()
	h := storetest.Harness{New: func(t *testing.T) store.Store { return plain{newFake(sound)} }}
	for _, name := range []string{"CancelWhileWaiting", "Reopen", "SidecarReplace", "Observe", "Sync", "Shared", "SegmentsCoverScan", "SegmentVersions"} {
		for _, r := range storetest.Rules() {
			if r.Name == name {
				if err := r.Check(t, h); !errors.Is(err, storetest.ErrSkip) {
					t.Errorf("%s on a plain store: %v, want ErrSkip", name, err)
				}
			}
		}
	}
}

// plain hides the fake's capabilities beyond store.Store.
type plain struct{ store.Store }
