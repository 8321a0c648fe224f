package memstore

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/complyhq/comply/store"
)

var _ store.Rewriter = (*Store)(nil)

// Rewrite implements store.Rewriter for one day (a segment named as
// Segments names it). fn runs under the store's write lock: it must not
// call the store. Every new line is checked before any is stored.
func (s *Store) Rewrite(ctx context.Context, segment string, fn func(store.Record) ([]byte, bool, error)) (int64, error) {
	t, err := time.Parse(time.DateOnly, segment)
	if err != nil {
		return 0, fmt.Errorf("rewrite segment %q: %w", segment, store.ErrNotFound)
	}
	d := unixDay(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	type change struct {
		pos  int
		line []byte
	}
	var changes []change
	found := false
	for i, r := range s.recs {
		if r.Line == nil || unixDay(r.Time) != d {
			continue
		}
		found = true
		if err := ctx.Err(); err != nil {
			return 0, fmt.Errorf("rewrite segment %s: %w", segment, err)
		}
		nl, ok, err := fn(store.Record{ID: r.ID, Time: r.Time, Line: slices.Clone(r.Line), Path: segment, Offset: int64(s.head + i)})
		if err != nil {
			return 0, fmt.Errorf("rewrite segment %s: %w", segment, err)
		}
		if !ok {
			continue
		}
		nr := store.Record{ID: r.ID, Time: r.Time, Line: nl}
		if err := nr.Check(math.MaxInt); err != nil {
			return 0, fmt.Errorf("rewrite segment %s: %w", segment, err)
		}
		changes = append(changes, change{i, slices.Clone(nl)})
	}
	if !found {
		return 0, fmt.Errorf("rewrite segment %s: %w", segment, store.ErrNotFound)
	}
	for _, c := range changes {
		s.recs[c.pos].Line = c.line
	}
	if len(changes) > 0 {
		s.touch(t)
	}
	return int64(len(changes)), nil
}
