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

	"github.com/complyhq/comply/store"
)

// openSidecar makes a store and returns it as a store.Sidecar, or an error
// wrapping ErrSkip.
func openSidecar(t *testing.T, h Harness) (store.Store, store.Sidecar, error) {
	s := open(t, h)
	sc, ok := s.(store.Sidecar)
	if !ok {
		return nil, nil, fmt.Errorf("store does not implement store.Sidecar: %w", ErrSkip)
	}
	return s, sc, nil
}

func readBlob(ctx context.Context, sc store.Sidecar, name string, want []byte) error {
	got, err := sc.ReadBlob(ctx, name)
	if err != nil {
		return fmt.Errorf("ReadBlob(%s): %w", name, err)
	}
	if !bytes.Equal(got, want) {
		return fmt.Errorf("ReadBlob(%s) = %.40q, want %.40q", name, got, want)
	}
	return nil
}

// checkSidecarNotFound: ReadBlob of a missing blob returns an error
// wrapping store.ErrNotFound.
func checkSidecarNotFound(t *testing.T, h Harness) error {
	_, sc, err := openSidecar(t, h)
	if err != nil {
		return err
	}
	ctx := t.Context()
	if err := sc.WriteBlob(ctx, "ledger/x", []byte("x")); err != nil {
		return fmt.Errorf("WriteBlob: %w", err)
	}
	var errs []error
	for _, name := range []string{"ledger/none", "ledger", "ledger/x/y"} {
		if _, err := sc.ReadBlob(ctx, name); !errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fmt.Errorf("ReadBlob of the missing blob %s: %v, want ErrNotFound", name, err))
		}
	}
	return errors.Join(errs...)
}

// checkSidecarBlobNames: WriteBlob and ReadBlob refuse names that
// store.CheckBlobName refuses, and store nothing for them.
func checkSidecarBlobNames(t *testing.T, h Harness) error {
	_, sc, err := openSidecar(t, h)
	if err != nil {
		return err
	}
	ctx := t.Context()
	var errs []error
	for _, bad := range []string{"", "/abs", "a/../b", "a//b", "sp ace", "dir/", "./a", "a\\b", "a\x00b"} {
		if store.CheckBlobName(bad) == nil {
			panic("storetest: a good name among the bad ones: " + bad)
		}
		if err := sc.WriteBlob(ctx, bad, []byte("x")); err == nil {
			errs = append(errs, fmt.Errorf("WriteBlob(%q) accepted a bad name", bad))
		}
		if _, err := sc.ReadBlob(ctx, bad); err == nil {
			errs = append(errs, fmt.Errorf("ReadBlob(%q) accepted a bad name", bad))
		}
	}
	names, err := sc.ListBlobs(ctx, "")
	if err != nil {
		return fmt.Errorf("ListBlobs: %w", err)
	}
	if len(names) != 0 {
		errs = append(errs, fmt.Errorf("blobs stored under bad names: %q", names))
	}
	good := "a/B-c_d.9/e.json"
	if err := sc.WriteBlob(ctx, good, []byte("x")); err != nil {
		errs = append(errs, fmt.Errorf("WriteBlob(%q) refused a good name: %w", good, err))
	}
	return errors.Join(errs...)
}

// checkSidecarReplace: WriteBlob replaces a blob atomically: a concurrent
// reader sees the old blob or the new, never a mix, and concurrent writers
// of one name all succeed, one of them last.
func checkSidecarReplace(t *testing.T, h Harness) error {
	_, sc, err := openSidecar(t, h)
	if err != nil {
		return err
	}
	ctx := t.Context()
	const name = "ledger/checkpoint"
	versions := [][]byte{bytes.Repeat([]byte{'a'}, 8192), bytes.Repeat([]byte{'b'}, 4096), {}}
	if err := sc.WriteBlob(ctx, name, versions[0]); err != nil {
		return fmt.Errorf("WriteBlob: %w", err)
	}
	stop := make(chan struct{})
	var torn []byte
	var rerr error
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			got, err := sc.ReadBlob(ctx, name)
			if err != nil {
				rerr = err
				return
			}
			if !slices.ContainsFunc(versions, func(v []byte) bool { return bytes.Equal(v, got) }) {
				torn = got
				return
			}
		}
	})
	werrs := make([]error, 2)
	var writers sync.WaitGroup
	for w := range werrs {
		writers.Go(func() {
			for i := range 20 {
				if werrs[w] = sc.WriteBlob(ctx, name, versions[(i+w)%len(versions)]); werrs[w] != nil {
					return
				}
			}
		})
	}
	writers.Wait()
	close(stop)
	wg.Wait()
	switch werr := errors.Join(werrs...); {
	case werr != nil:
		return fmt.Errorf("WriteBlob (two writers of one name): %w", werr)
	case rerr != nil:
		return fmt.Errorf("ReadBlob during WriteBlob: %w", rerr)
	case torn != nil:
		return fmt.Errorf("ReadBlob during WriteBlob saw a mix of two versions (%d bytes)", len(torn))
	}
	got, err := sc.ReadBlob(ctx, name)
	if err != nil {
		return fmt.Errorf("ReadBlob after the writes: %w", err)
	}
	lasts := [][]byte{versions[19%len(versions)], versions[20%len(versions)]}
	if !slices.ContainsFunc(lasts, func(v []byte) bool { return bytes.Equal(v, got) }) {
		return fmt.Errorf("after the writes the blob is %.40q, not the last version of either writer", got)
	}
	return nil
}

// checkSidecarNoAliasing: WriteBlob keeps no reference to data; the
// caller owns what ReadBlob returns.
func checkSidecarNoAliasing(t *testing.T, h Harness) error {
	_, sc, err := openSidecar(t, h)
	if err != nil {
		return err
	}
	ctx := t.Context()
	data := []byte("the blob")
	want := slices.Clone(data)
	if err := sc.WriteBlob(ctx, "a/b", data); err != nil {
		return fmt.Errorf("WriteBlob: %w", err)
	}
	clear(data)
	if err := readBlob(ctx, sc, "a/b", want); err != nil {
		return fmt.Errorf("after the caller reused the written slice: %w", err)
	}
	got, err := sc.ReadBlob(ctx, "a/b")
	if err != nil {
		return fmt.Errorf("ReadBlob: %w", err)
	}
	clear(got)
	if err := readBlob(ctx, sc, "a/b", want); err != nil {
		return fmt.Errorf("after the caller changed what ReadBlob returned: %w", err)
	}
	return nil
}

// checkSidecarListSorted: ListBlobs returns exactly the names that begin
// with the prefix, sorted.
func checkSidecarListSorted(t *testing.T, h Harness) error {
	_, sc, err := openSidecar(t, h)
	if err != nil {
		return err
	}
	ctx := t.Context()
	for _, name := range []string{"ledger/c", "ledger/a/2", "other/x", "ledger/a/10", "ledgers/y", "ledger/b"} {
		if err := sc.WriteBlob(ctx, name, []byte(name)); err != nil {
			return fmt.Errorf("WriteBlob(%s): %w", name, err)
		}
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"ledger/", []string{"ledger/a/10", "ledger/a/2", "ledger/b", "ledger/c"}},
		{"ledger", []string{"ledger/a/10", "ledger/a/2", "ledger/b", "ledger/c", "ledgers/y"}},
		{"ledger/a/", []string{"ledger/a/10", "ledger/a/2"}},
		{"none/", nil},
	}
	var errs []error
	for _, tt := range tests {
		names, err := sc.ListBlobs(ctx, tt.prefix)
		if err != nil {
			return fmt.Errorf("ListBlobs(%q): %w", tt.prefix, err)
		}
		if !slices.Equal(names, tt.want) {
			errs = append(errs, fmt.Errorf("ListBlobs(%q) = %q, want %q", tt.prefix, names, tt.want))
		}
	}
	return errors.Join(errs...)
}

// checkSidecarNotEntries: blobs are not entries: not counted, scanned or
// expired.
func checkSidecarNotEntries(t *testing.T, h Harness) error {
	s, sc, err := openSidecar(t, h)
	if err != nil {
		return err
	}
	ctx := t.Context()
	for _, name := range []string{"ledger/checkpoint", "ledger/leaves/00000000"} {
		if err := sc.WriteBlob(ctx, name, Records(base, 1)[0].Line); err != nil {
			return fmt.Errorf("WriteBlob: %w", err)
		}
	}
	if err := expectCount(ctx, s, "with blobs only", 0); err != nil {
		return err
	}
	if n, err := s.Expire(ctx, base.AddDate(10, 0, 0)); err != nil || n != 0 {
		return fmt.Errorf("Expire with blobs only = %d, %v; want 0, nil", n, err)
	}
	names, err := sc.ListBlobs(ctx, "")
	if err != nil {
		return fmt.Errorf("ListBlobs: %w", err)
	}
	if len(names) != 2 {
		return fmt.Errorf("after Expire the blobs are %q, want both", names)
	}
	return nil
}

// checkObserve: an Observable store reports every successful write, in
// storage order, and no refused one.
func checkObserve(t *testing.T, h Harness) error {
	s := open(t, h)
	obs, ok := s.(store.Observable)
	if !ok {
		return fmt.Errorf("store does not implement store.Observable: %w", ErrSkip)
	}
	ctx := t.Context()
	var mu sync.Mutex
	var seen []string
	obs.Observe(func(recs []store.Record) {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range recs {
			seen = append(seen, r.ID)
		}
	})
	bad := Records(base, 1)[0]
	bad.Line = nil
	if err := s.Append(ctx, bad); err == nil {
		return errors.New("Append accepted a record without a line")
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for w := range 4 {
		wg.Go(func() {
			recs := Records(base.Add(time.Hour+time.Duration(w)*time.Minute), 25)
			for i := 0; i < len(recs) && errs[w] == nil; i += 5 {
				errs[w] = appendAll(ctx, s, recs[i:i+5]...)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 100 {
		return fmt.Errorf("observed %d records, want 100", len(seen))
	}
	// All 100 are stamped within one UTC day, so the store holds them in
	// one partition in write order: the order observed.
	got, err := collect(ctx, s, store.Query{})
	if err != nil {
		return err
	}
	if !slices.Equal(IDs(got), seen) {
		return errors.New("observed order differs from storage order")
	}
	return nil
}

// checkSync: a Syncer's Sync succeeds, keeps every record, and returns
// ctx.Err() for a cancelled ctx.
func checkSync(t *testing.T, h Harness) error {
	s := open(t, h)
	sy, ok := s.(store.Syncer)
	if !ok {
		return fmt.Errorf("store does not implement store.Syncer: %w", ErrSkip)
	}
	ctx := t.Context()
	recs := Records(base, 5)
	if err := appendAll(ctx, s, recs...); err != nil {
		return err
	}
	if err := sy.Sync(ctx); err != nil {
		return fmt.Errorf("Sync: %w", err)
	}
	if err := expectIDs(ctx, s, store.Query{}, "after Sync", recs); err != nil {
		return err
	}
	if err := sy.Sync(ctx); err != nil {
		return fmt.Errorf("Sync with nothing to sync: %w", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := appendAll(ctx, s, Records(base.Add(time.Minute), 1)...); err != nil {
		return err
	}
	if err := sy.Sync(cctx); !errors.Is(err, context.Canceled) {
		return fmt.Errorf("Sync with a cancelled context: %v, want context.Canceled", err)
	}
	return nil
}

// checkShared: a Shared store names itself, and claims for itself (or
// for nobody) the records it wrote.
func checkShared(t *testing.T, h Harness) error {
	s := open(t, h)
	sh, ok := s.(store.Shared)
	if !ok {
		return fmt.Errorf("store does not implement store.Shared: %w", ErrSkip)
	}
	ctx := t.Context()
	self := sh.WriterID()
	if self == "" {
		return errors.New("WriterID of a writable store is empty")
	}
	if err := appendAll(ctx, s, Records(base, 5)...); err != nil {
		return err
	}
	got, err := collect(ctx, s, store.Query{})
	if err != nil {
		return err
	}
	for _, r := range got {
		if w, ok := sh.RecordWriter(r); ok && w != self {
			return fmt.Errorf("RecordWriter(%s) = %q, a record this store (%q) wrote", r.ID, w, self)
		}
	}
	if w, ok := sh.RecordWriter(store.Record{ID: "x", Path: "elsewhere/x"}); ok {
		return fmt.Errorf("RecordWriter of a record from elsewhere = %q, true", w)
	}
	return nil
}
