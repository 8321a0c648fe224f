// Package memstore is an in-memory store.Store for tests and development,
// with an optional limit on the number of entries that evicts the oldest.
//
// Everything is lost when the process exits; Append is durable only in the
// sense that a later Get in the same process sees the record.
package memstore

import (
	"context"
	"fmt"
	"iter"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/complyhq/comply/store"
)

// Store keeps records in memory in append order.
type Store struct {
	max int

	mu     sync.RWMutex
	recs   []store.Record // nil Line marks a deleted record
	head   int            // absolute position of recs[0]
	live   int            // records with a non-nil Line
	byID   map[string]int // id -> absolute position
	closed bool
	blobs  map[string][]byte
	obs    func([]store.Record)
	gens   map[int64]uint64 // UTC day (unix days) -> the change that last touched it
	gen    uint64           // changes so far
}

var (
	_ store.Store      = (*Store)(nil)
	_ store.Sidecar    = (*Store)(nil)
	_ store.Observable = (*Store)(nil)
)

// New returns an empty store. A positive maxEntries bounds the number of
// records kept: appending past it evicts the oldest, as the seed's
// MemoryStorage(max_entries=N) does. Zero means no limit.
func New(maxEntries int) *Store {
	return &Store{max: maxEntries, byID: make(map[string]int)}
}

// Append implements store.Store. Lines have no length limit.
func (s *Store) Append(ctx context.Context, recs ...store.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	for i := range recs {
		if err := recs[i].Check(math.MaxInt); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	for _, r := range recs {
		if _, dup := s.byID[r.ID]; !dup {
			s.byID[r.ID] = s.head + len(s.recs)
		}
		s.recs = append(s.recs, store.Record{ID: r.ID, Time: r.Time, Line: slices.Clone(r.Line)})
		s.live++
		s.touch(r.Time)
		for s.max > 0 && s.live > s.max {
			s.evictOldest()
		}
	}
	if s.obs != nil {
		s.obs(recs)
	}
	s.compact()
	return nil
}

func (s *Store) evictOldest() {
	for i, r := range s.recs {
		if r.Line != nil {
			s.remove(s.head + i)
			return
		}
	}
}

func (s *Store) remove(pos int) {
	r := &s.recs[pos-s.head]
	if s.byID[r.ID] == pos {
		delete(s.byID, r.ID)
	}
	s.touch(r.Time)
	*r = store.Record{}
	s.live--
}

// compact drops deleted records from the front, and rebuilds the slice when
// more than half of it is deleted, so memory follows the live count.
func (s *Store) compact() {
	n := 0
	for n < len(s.recs) && s.recs[n].Line == nil {
		n++
	}
	s.recs, s.head = s.recs[n:], s.head+n
	if len(s.recs) < 64 || s.live*2 > len(s.recs) {
		return
	}
	kept := make([]store.Record, 0, s.live)
	for _, r := range s.recs {
		if r.Line != nil {
			kept = append(kept, r)
		}
	}
	s.recs, s.head = kept, 0
	for i, r := range kept {
		s.byID[r.ID] = i
	}
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id string) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.Record{}, store.ErrClosed
	}
	pos, ok := s.byID[id]
	if !ok {
		return store.Record{}, fmt.Errorf("get %s: %w", id, store.ErrNotFound)
	}
	return clone(s.recs[pos-s.head]), nil
}

// Scan implements store.Store. It reads a snapshot taken in batches, so a
// long scan does not hold the lock while the caller works.
func (s *Store) Scan(ctx context.Context, q store.Query) iter.Seq2[store.Record, error] {
	return func(yield func(store.Record, error) bool) {
		const batch = 256
		var buf []store.Record
		for pos := 0; ; {
			if err := ctx.Err(); err != nil {
				yield(store.Record{}, err)
				return
			}
			buf, pos = s.next(buf[:0], pos, batch, q)
			if pos < 0 {
				yield(store.Record{}, store.ErrClosed)
				return
			}
			for _, r := range buf {
				if !yield(r, nil) {
					return
				}
			}
			if len(buf) < batch {
				if err := ctx.Err(); err != nil {
					yield(store.Record{}, err) // a cut scan never looks complete
				}
				return
			}
		}
	}
}

// next appends up to n matching records at or after absolute position pos
// and returns the position to continue from, or -1 if the store is closed.
func (s *Store) next(dst []store.Record, pos, n int, q store.Query) ([]store.Record, int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return dst, -1
	}
	pos = max(pos, s.head)
	for ; pos-s.head < len(s.recs) && len(dst) < n; pos++ {
		r := s.recs[pos-s.head]
		if r.Line != nil && q.Contains(r.Time) {
			dst = append(dst, clone(r))
		}
	}
	return dst, pos
}

// Count implements store.Store.
func (s *Store) Count(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	return int64(s.live), nil
}

// Delete implements store.Store.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	pos, ok := s.byID[id]
	if !ok {
		return fmt.Errorf("delete %s: %w", id, store.ErrNotFound)
	}
	s.remove(pos)
	s.compact()
	return nil
}

// Expire implements store.Store.
func (s *Store) Expire(ctx context.Context, before time.Time) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	var n int64
	for i, r := range s.recs {
		if r.Line != nil && r.Time.Before(before) {
			s.remove(s.head + i)
			n++
		}
	}
	s.compact()
	return n, nil
}

// Close implements store.Store. The records are dropped.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.recs, s.byID = nil, nil
	return nil
}

func clone(r store.Record) store.Record {
	r.Line = slices.Clone(r.Line)
	return r
}

// Observe implements store.Observable.
func (s *Store) Observe(fn func([]store.Record)) {
	s.mu.Lock()
	s.obs = fn
	s.mu.Unlock()
}

// WriteBlob implements store.Sidecar.
func (s *Store) WriteBlob(ctx context.Context, name string, data []byte) error {
	return s.setBlob(ctx, name, func([]byte) []byte { return slices.Clone(data) })
}

// setBlob replaces the named blob by what set makes of it (nil if none).
func (s *Store) setBlob(ctx context.Context, name string, set func(old []byte) []byte) error {
	if err := store.CheckBlobName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	if s.blobs == nil {
		s.blobs = make(map[string][]byte)
	}
	s.blobs[name] = set(s.blobs[name])
	return nil
}

// ReadBlob implements store.Sidecar.
func (s *Store) ReadBlob(ctx context.Context, name string) ([]byte, error) {
	if err := store.CheckBlobName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	b, ok := s.blobs[name]
	if !ok {
		return nil, fmt.Errorf("read blob %s: %w", name, store.ErrNotFound)
	}
	return slices.Clone(b), nil
}

// ListBlobs implements store.Sidecar.
func (s *Store) ListBlobs(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	var names []string
	for name := range s.blobs {
		if strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}
