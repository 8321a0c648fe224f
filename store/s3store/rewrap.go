package s3store

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/complyhq/comply/store"
)

var _ store.Rewriter = (*Store)(nil)

// Rewrite implements store.Rewriter for one segment object (named as
// Segments names it), as retention rewrites one: the new lines go into a
// new object one generation up, which hides the old one from readers, and
// the old object is then deleted. Under an Object Lock the old object
// cannot be deleted: it stays, hidden, until its retention ends (and a
// later cleanup removes it). A damaged segment is not rewritten (a
// *store.CorruptionError). In the seed layout it returns an error
// wrapping errors.ErrUnsupported.
func (s *Store) Rewrite(ctx context.Context, segment string, fn func(store.Record) ([]byte, bool, error)) (int64, error) {
	if s.opts.ReadOnly {
		return 0, store.ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	if s.cfg.layout == Seed {
		return 0, fmt.Errorf("rewrite %s: seed layout: %w", segment, errors.ErrUnsupported)
	}
	n, ok := parseSegKey(segment)
	if !ok {
		return 0, fmt.Errorf("rewrite %s: %w", segment, store.ErrNotFound)
	}
	if err := s.sync(ctx); err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", segment, err)
	}
	rel := n.key()
	path := s.full(rel)
	h, err := s.head(ctx, rel, "")
	if err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", segment, err)
	}
	changed, err := s.replaceSegment(ctx, n, func(off int64, r segRec) ([]byte, bool, error) {
		nl, ok, err := fn(store.Record{ID: r.id, Time: time.UnixMicro(r.t).UTC(), Line: append([]byte(nil), r.line...), Path: path, Offset: off})
		if err != nil || !ok {
			return nil, false, err
		}
		nr := store.Record{ID: r.id, Time: time.UnixMicro(r.t), Line: nl}
		if err := nr.Check(math.MaxInt); err != nil {
			return nil, false, err
		}
		return append([]byte(nil), nl...), false, nil
	})
	if err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", segment, err)
	}
	if changed == 0 {
		return 0, nil
	}
	if lockOf(path, h, time.Now()) != nil {
		return changed, nil // the old version stays until its lock ends
	}
	// A failed delete is not an error: the new generation hides the old
	// one, and a later cleanup removes it.
	s.deleteOne(ctx, rel, aws.ToString(h.VersionId))
	return changed, nil
}
