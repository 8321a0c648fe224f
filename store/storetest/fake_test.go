package storetest_test

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"iter"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/complyhq/comply/store"
)

// A flaw is one way the fake store breaks the contract.
type flaw int

const (
	sound            flaw = iota
	skipCheck             // Append stores invalid records
	lateVisibility        // a record is seen only after the next Append
	plainNotFound         // Get of an unknown id returns an error not wrapping ErrNotFound
	deleteUnknownOK       // Delete of an unknown id returns nil
	exclusiveBounds       // Scan leaves out records at its bounds
	sortByTime            // Scan sorts by time instead of keeping append order
	countDeleted          // Count includes deleted records
	deleteNoop            // Delete returns nil and keeps the record
	expireAtCutoff        // Expire removes records at the cutoff too
	racyAppend            // concurrent Appends lose records
	truncateBatch         // Append stores at most 100 records of a batch
	keepInput             // Append keeps the caller's line
	reuseScanBuffer       // Scan yields lines in one reused buffer
	forgetClose           // methods keep working after Close
	ignoreCtx             // Append and Scan ignore their ctx
	scanIgnoresCtx        // Scan ignores a ctx cancelled midway
	waitIgnoresCtx        // Append waits on a stall whatever its ctx
	forgetOnReopen        // Reopen returns an empty store
	readMissingNil        // ReadBlob of a missing blob returns nil, nil
	noNameCheck           // blob names are not checked
	tornBlob              // WriteBlob replaces a blob in two steps
	keepBlob              // WriteBlob keeps the caller's slice
	unsortedList          // ListBlobs returns names in reverse order
	blobsAsEntries        // Count counts blobs
	observeReversed       // the observer sees each batch reversed
	syncIgnoresCtx        // Sync ignores its ctx
	claimsOthers          // RecordWriter names another writer
	segmentsMissOne       // Segments leaves out the last segment
	staticVersion         // a segment's Version never changes
	rewriteHalf           // Rewrite stores the new lines before fn fails
	destroyNoop           // DestroyBlob returns nil and keeps the blob
	createOverwrites      // CreateDestroyableBlob replaces an existing blob
)

// fake is a small in-memory store with every capability, sound unless
// given a flaw.
type fake struct {
	flaw flaw
	wl   chan struct{} // the write lock, taken with a ctx

	mu      sync.Mutex
	recs    []store.Record // nil Line: deleted
	pending []store.Record // lateVisibility
	blobs   map[string][]byte
	closed  bool
	obs     func([]store.Record)
	buf     []byte // reuseScanBuffer
	busy    atomic.Bool
}

var (
	_ store.SidecarStore = (*fake)(nil)
	_ store.Observable   = (*fake)(nil)
	_ store.Syncer       = (*fake)(nil)
	_ store.Shared       = (*fake)(nil)
	_ store.Segmented    = (*fake)(nil)
	_ store.Rewriter     = (*fake)(nil)
	_ store.Destroyer    = (*fake)(nil)
)

// Segments: one segment per UTC day, its version a hash of its lines.
func (s *fake) Segments(ctx context.Context, q store.Query) ([]store.Segment, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	byDay := map[string]*store.Segment{}
	hashes := map[string]hash.Hash{}
	var names []string
	for _, r := range s.recs {
		if r.Line == nil {
			continue
		}
		name := r.Time.UTC().Format(time.DateOnly)
		g := byDay[name]
		if g == nil {
			g = &store.Segment{Name: name, Min: r.Time, Max: r.Time}
			byDay[name], hashes[name] = g, sha256.New()
			names = append(names, name)
		}
		g.Count++
		if r.Time.Before(g.Min) {
			g.Min = r.Time
		}
		if r.Time.After(g.Max) {
			g.Max = r.Time
		}
		hashes[name].Write(r.Line)
	}
	slices.Sort(names)
	var out []store.Segment
	for _, name := range names {
		g := byDay[name]
		if !q.Start.IsZero() && g.Max.Before(q.Start) || !q.End.IsZero() && g.Min.After(q.End) {
			continue
		}
		g.Version = fmt.Sprintf("%x", hashes[name].Sum(nil))
		if s.flaw == staticVersion {
			g.Version = "v"
		}
		out = append(out, *g)
	}
	if s.flaw == segmentsMissOne && len(out) > 0 {
		out = out[:len(out)-1]
	}
	return out, nil
}

func (s *fake) ScanSegment(ctx context.Context, name string, q store.Query) iter.Seq2[store.Record, error] {
	return func(yield func(store.Record, error) bool) {
		found := false
		for r, err := range s.Scan(ctx, store.Query{}) {
			if err != nil {
				yield(r, err)
				return
			}
			if r.Time.UTC().Format(time.DateOnly) != name {
				continue
			}
			found = true
			if q.Contains(r.Time) && !yield(r, nil) {
				return
			}
		}
		if !found {
			yield(store.Record{}, fmt.Errorf("scan segment %s: %w", name, store.ErrNotFound))
		}
	}
}

func newFake(f flaw) *fake {
	return &fake{flaw: f, wl: make(chan struct{}, 1), blobs: map[string][]byte{}}
}

// stall holds the write lock until release.
func (s *fake) stall() (release func()) {
	s.wl <- struct{}{}
	return func() { <-s.wl }
}

func (s *fake) lockWrite(ctx context.Context) error {
	if s.flaw == waitIgnoresCtx || s.flaw == ignoreCtx {
		s.wl <- struct{}{}
		return nil
	}
	select {
	case s.wl <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// live reports an error if the store is closed or ctx is done.
func (s *fake) live(ctx context.Context) error {
	if s.closed && s.flaw != forgetClose {
		return store.ErrClosed
	}
	if s.flaw == ignoreCtx {
		return nil
	}
	return ctx.Err()
}

func (s *fake) Append(ctx context.Context, recs ...store.Record) error {
	if s.flaw != ignoreCtx {
		if err := ctx.Err(); err != nil {
			return err
		}
	}
	if s.flaw != skipCheck {
		for i := range recs {
			if err := recs[i].Check(1 << 20); err != nil {
				return err
			}
		}
	}
	if s.flaw == racyAppend {
		if !s.busy.CompareAndSwap(false, true) {
			return nil // dropped
		}
		defer s.busy.Store(false)
		time.Sleep(50 * time.Microsecond)
	}
	if err := s.lockWrite(ctx); err != nil {
		return err
	}
	defer func() { <-s.wl }()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(context.Background()); err != nil {
		return err
	}
	if s.flaw == truncateBatch && len(recs) > 100 {
		recs = recs[:100]
	}
	var add []store.Record
	for _, r := range recs {
		if r.Line == nil {
			r.Line = []byte{} // skipCheck: keep it apart from a deleted record
		} else if s.flaw != keepInput {
			r.Line = slices.Clone(r.Line)
		}
		add = append(add, store.Record{ID: r.ID, Time: r.Time, Line: r.Line})
	}
	if s.flaw == lateVisibility {
		s.recs = append(s.recs, s.pending...)
		s.pending = add
	} else {
		s.recs = append(s.recs, add...)
	}
	if s.obs != nil {
		seen := slices.Clone(add)
		if s.flaw == observeReversed {
			slices.Reverse(seen)
		}
		s.obs(seen)
	}
	return nil
}

func (s *fake) find(id string) int {
	return slices.IndexFunc(s.recs, func(r store.Record) bool { return r.Line != nil && r.ID == id })
}

func (s *fake) Get(ctx context.Context, id string) (store.Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(ctx); err != nil {
		return store.Record{}, err
	}
	i := s.find(id)
	if i < 0 {
		if s.flaw == plainNotFound {
			return store.Record{}, errors.New("no such id")
		}
		return store.Record{}, fmt.Errorf("get %s: %w", id, store.ErrNotFound)
	}
	r := s.recs[i]
	r.Line = slices.Clone(r.Line)
	return r, nil
}

func (s *fake) Scan(ctx context.Context, q store.Query) iter.Seq2[store.Record, error] {
	return func(yield func(store.Record, error) bool) {
		s.mu.Lock()
		err := s.live(ctx)
		if s.flaw == scanIgnoresCtx && !errors.Is(err, store.ErrClosed) {
			err = nil
		}
		var out []store.Record
		for _, r := range s.recs {
			in := q.Contains(r.Time)
			if s.flaw == exclusiveBounds {
				in = in && !r.Time.Equal(q.Start) && !r.Time.Equal(q.End)
			}
			if r.Line != nil && in {
				r.Line = slices.Clone(r.Line)
				r.Path = "fake"
				out = append(out, r)
			}
		}
		s.mu.Unlock()
		if err != nil {
			yield(store.Record{}, err)
			return
		}
		if s.flaw == sortByTime {
			slices.SortStableFunc(out, func(a, b store.Record) int { return a.Time.Compare(b.Time) })
		}
		checkCtx := s.flaw != ignoreCtx && s.flaw != scanIgnoresCtx
		for _, r := range out {
			if checkCtx && ctx.Err() != nil {
				yield(store.Record{}, ctx.Err())
				return
			}
			if s.flaw == reuseScanBuffer {
				s.buf = append(s.buf[:0], r.Line...)
				r.Line = s.buf
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

func (s *fake) Count(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(ctx); err != nil {
		return 0, err
	}
	var n int64
	for _, r := range s.recs {
		if r.Line != nil || s.flaw == countDeleted {
			n++
		}
	}
	if s.flaw == blobsAsEntries {
		n += int64(len(s.blobs))
	}
	return n, nil
}

func (s *fake) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(ctx); err != nil {
		return err
	}
	i := s.find(id)
	switch {
	case i < 0 && s.flaw == deleteUnknownOK:
		return nil
	case i < 0:
		return fmt.Errorf("delete %s: %w", id, store.ErrNotFound)
	case s.flaw != deleteNoop:
		s.recs[i].Line = nil
	}
	return nil
}

func (s *fake) Expire(ctx context.Context, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(ctx); err != nil {
		return 0, err
	}
	var n int64
	for i, r := range s.recs {
		if r.Line != nil && (r.Time.Before(before) || s.flaw == expireAtCutoff && r.Time.Equal(before)) {
			s.recs[i].Line = nil
			n++
		}
	}
	return n, nil
}

func (s *fake) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func (s *fake) Observe(fn func([]store.Record)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.obs = fn
}

func (s *fake) checkName(name string) error {
	if s.flaw == noNameCheck {
		return nil
	}
	return store.CheckBlobName(name)
}

func (s *fake) WriteBlob(ctx context.Context, name string, data []byte) error {
	if err := s.checkName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(ctx); err != nil {
		return err
	}
	switch s.flaw {
	case keepBlob:
		s.blobs[name] = data
		return nil
	case tornBlob:
		if old, ok := s.blobs[name]; ok && len(old) > 0 && len(data) > 0 {
			mix := slices.Concat(data[:len(data)/2], old[len(old)/2:])
			s.blobs[name] = mix
			s.mu.Unlock()
			time.Sleep(time.Millisecond)
			s.mu.Lock()
		}
	}
	s.blobs[name] = slices.Clone(data)
	return nil
}

func (s *fake) ReadBlob(ctx context.Context, name string) ([]byte, error) {
	if err := s.checkName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	b, ok := s.blobs[name]
	if !ok {
		if s.flaw == readMissingNil {
			return nil, nil
		}
		return nil, fmt.Errorf("read blob %s: %w", name, store.ErrNotFound)
	}
	if s.flaw == keepBlob {
		return b, nil
	}
	return slices.Clone(b), nil
}

func (s *fake) ListBlobs(ctx context.Context, prefix string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(ctx); err != nil {
		return nil, err
	}
	var names []string
	for name := range s.blobs {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	if s.flaw == unsortedList {
		slices.Reverse(names)
	}
	return names, nil
}

func (s *fake) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flaw == syncIgnoresCtx {
		ctx = context.Background()
	}
	return s.live(ctx)
}

func (s *fake) WriterID() string { return "fake" }

func (s *fake) RecordWriter(rec store.Record) (string, bool) {
	if rec.Path != "fake" {
		return "", false
	}
	if s.flaw == claimsOthers {
		return "other", true
	}
	return "fake", true
}

// reopen returns a store over the same records, as a persistent store's
// Reopen would.
func (s *fake) reopen() *fake {
	s.Close()
	n := newFake(s.flaw)
	if s.flaw != forgetOnReopen {
		s.mu.Lock()
		n.recs, n.blobs = slices.Clone(s.recs), s.blobs
		s.mu.Unlock()
	}
	return n
}

// Rewrite: the lines of one UTC day, replaced all at once.
func (s *fake) Rewrite(ctx context.Context, segment string, fn func(store.Record) ([]byte, bool, error)) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(ctx); err != nil {
		return 0, err
	}
	next := slices.Clone(s.recs)
	var n int64
	found := false
	for i, r := range s.recs {
		if r.Line == nil || r.Time.UTC().Format(time.DateOnly) != segment {
			continue
		}
		found = true
		nl, ok, err := fn(store.Record{ID: r.ID, Time: r.Time, Line: slices.Clone(r.Line)})
		if err != nil {
			if s.flaw == rewriteHalf {
				s.recs = next
			}
			return 0, err
		}
		if ok {
			next[i].Line = slices.Clone(nl)
			n++
		}
	}
	if !found {
		return 0, fmt.Errorf("rewrite %s: %w", segment, store.ErrNotFound)
	}
	s.recs = next
	return n, nil
}

// WriteDestroyableBlob: WriteBlob.
func (s *fake) WriteDestroyableBlob(ctx context.Context, name string, data []byte) error {
	return s.WriteBlob(ctx, name, data)
}

// CreateDestroyableBlob: WriteBlob if the blob is missing.
func (s *fake) CreateDestroyableBlob(ctx context.Context, name string, data []byte) error {
	if _, err := s.ReadBlob(ctx, name); err == nil && s.flaw != createOverwrites {
		return fmt.Errorf("create blob %s: %w", name, store.ErrBlobExists)
	}
	return s.WriteBlob(ctx, name, data)
}

// DestroyBlob: the blob is forgotten.
func (s *fake) DestroyBlob(ctx context.Context, name string) error {
	if err := s.checkName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.live(ctx); err != nil {
		return err
	}
	if s.flaw != destroyNoop {
		delete(s.blobs, name)
	}
	return nil
}
