package filestore

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/complyhq/comply/store"
)

var _ store.Rewriter = (*Store)(nil)

// Rewrite implements store.Rewriter for one audit_*.jsonl file, named as
// Segments names it, by the same atomic rewrite as Expire: a temporary
// copy holding the new lines is fsynced and renamed over the file, the
// directory fsynced and the index rebuilt. A crash at any point leaves the
// old file or the new one. fn runs with the store's write lock held: it
// must not call the store.
func (s *Store) Rewrite(ctx context.Context, segment string, fn func(store.Record) ([]byte, bool, error)) (int64, error) {
	if s.opts.ReadOnly {
		return 0, store.ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	g := s.byName[segment]
	if g == nil {
		return 0, fmt.Errorf("rewrite %s: %w", segment, store.ErrNotFound)
	}
	return s.rewrite(ctx, g, func(off int64, id string, ts int64, ok bool, b []byte) ([]byte, bool, error) {
		if !ok {
			return nil, false, nil // unreadable lines are copied as they are
		}
		rec := store.Record{ID: id, Time: time.UnixMicro(ts).UTC(), Line: slices.Clone(b), Path: g.name, Offset: off}
		nl, changed, err := fn(rec)
		if err != nil || !changed {
			return nil, false, err
		}
		nr := store.Record{ID: id, Time: rec.Time, Line: nl}
		if err := nr.Check(s.opts.MaxLineSize); err != nil {
			return nil, false, err
		}
		if nid, nts, perr := peek(nl); perr != nil || nid != id || nts != ts {
			return nil, false, fmt.Errorf("rewrite %s: the new line changes the id or the time", id)
		}
		return nl, false, nil
	})
}
