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
	recs, changed, err := s.rewrittenLines(ctx, rel, path, fn)
	if err != nil || changed == 0 {
		return 0, err
	}
	defer s.cache.dropDay(n.day)
	nn := n
	nn.gen++
	nb, _ := encodeSegment(recs)
	err = s.put(ctx, nn.key(), nb, "application/gzip", map[string]string{metaSum: sum(nb)}, true)
	if errors.Is(err, errExists) {
		return 0, fmt.Errorf("rewrite %s: rewritten concurrently by another process; try again", path)
	}
	if err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", segment, err)
	}
	if lockOf(path, h, time.Now()) != nil {
		return changed, nil // the old version stays until its lock ends
	}
	if err := s.deleteOne(ctx, rel, aws.ToString(h.VersionId)); err != nil {
		// The new generation hides the old one; a later cleanup removes it.
		return changed, nil
	}
	return changed, nil
}

// rewrittenLines reads the segment object rel and returns its records with
// the lines fn changes replaced, and how many it changed.
func (s *Store) rewrittenLines(ctx context.Context, rel, path string, fn func(store.Record) ([]byte, bool, error)) ([]segRec, int64, error) {
	body, _, err := s.get(ctx, rel, "")
	if err != nil {
		return nil, 0, err
	}
	x, err := readIndex(body)
	if err != nil {
		return nil, 0, &store.CorruptionError{Path: path, Offset: int64(len(body)), Err: fmt.Errorf("cannot rewrite: %w", err)}
	}
	var recs []segRec
	var changed int64
	k := 0
	var bad error
	segmentLines(x, 0, len(x.blocks), body[:x.dataEnd], func(l rawLine) bool {
		if l.err == nil && k >= len(x.ids) {
			l.err = errors.New("more lines than the index lists")
		}
		if l.err != nil {
			bad = &store.CorruptionError{Path: path, Offset: l.off, Err: fmt.Errorf("cannot rewrite: %w", l.err)}
			return false
		}
		r := segRec{id: x.ids[k], t: x.times[k], line: l.line}
		nl, ok, err := fn(store.Record{ID: r.id, Time: time.UnixMicro(r.t).UTC(), Line: append([]byte(nil), l.line...), Path: path, Offset: l.off})
		if err != nil {
			bad = err
			return false
		}
		if ok {
			nr := store.Record{ID: r.id, Time: time.UnixMicro(r.t), Line: nl}
			if err := nr.Check(math.MaxInt); err != nil {
				bad = err
				return false
			}
			r.line = append([]byte(nil), nl...)
			changed++
		}
		recs = append(recs, r)
		k++
		return true
	})
	if bad == nil && k != len(x.ids) {
		bad = &store.CorruptionError{Path: path, Offset: 0, Err: errors.New("cannot rewrite: fewer lines than the index lists")}
	}
	if bad != nil {
		return nil, 0, bad
	}
	return recs, changed, nil
}
