package s3store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/complyhq/comply/store"
)

var _ store.Segmented = (*Store)(nil)

// Segments implements store.Segmented for the segments layout: a segment
// is one segment object, named by its key relative to the prefix
// (segments/YYYY/MM/DD/...). Objects are never changed once written, so
// every segment is Sealed and its Version is its key, which names its
// generation and count: a rewrite by Delete or Expire writes a new key.
// What a writer still buffers is stored first (as Scan does), so the
// listing covers every acknowledged record and there is no unsealed part.
//
// In the seed layout it returns an error wrapping errors.ErrUnsupported:
// the seed's day files are rewritten in place and carry no bounds.
func (s *Store) Segments(ctx context.Context, q store.Query) ([]store.Segment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	if s.cfg.layout == Seed {
		return nil, fmt.Errorf("segments: seed layout: %w", errors.ErrUnsupported)
	}
	if err := s.sync(ctx); err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	from, to := queryDays(q)
	days, err := s.segDays(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("segments: %w", err)
	}
	var out []store.Segment
	for _, d := range days {
		l, err := s.listDay(ctx, d, true)
		if err != nil {
			return nil, fmt.Errorf("segments: %w", err)
		}
		for _, g := range l.segs {
			if !overlaps(g.name, q) {
				continue
			}
			out = append(out, store.Segment{
				Name:    g.key,
				Min:     time.UnixMicro(g.name.minT).UTC(),
				Max:     time.UnixMicro(g.name.maxT).UTC(),
				Count:   g.name.count,
				Sealed:  true,
				Version: g.key,
			})
		}
	}
	return out, nil
}

// ScanSegment implements store.Segmented: the records of one segment
// object within q, read as Scan reads them (through the object's index
// when q cuts through it).
func (s *Store) ScanSegment(ctx context.Context, name string, q store.Query) iter.Seq2[store.Record, error] {
	return func(yield func(store.Record, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(store.Record{}, err)
			return
		}
		if s.isClosed() {
			yield(store.Record{}, store.ErrClosed)
			return
		}
		n, ok := parseSegKey(name)
		if !ok || s.cfg.layout == Seed {
			yield(store.Record{}, fmt.Errorf("scan segment %s: %w", name, store.ErrNotFound))
			return
		}
		info, found := segInfo{}, false
		for _, fresh := range []bool{false, true} {
			l, err := s.listDay(ctx, n.day, fresh)
			if err != nil {
				yield(store.Record{}, fmt.Errorf("scan segment %s: %w", name, err))
				return
			}
			for _, g := range l.segs {
				if g.key == name {
					info, found = g, true
				}
			}
			if found {
				break
			}
		}
		if !found {
			yield(store.Record{}, fmt.Errorf("scan segment %s: %w", name, store.ErrNotFound))
			return
		}
		if !overlaps(info.name, q) {
			return
		}
		for _, it := range s.readSeg(ctx, info, q) {
			if !yield(it.rec, it.err) {
				return
			}
		}
		if err := ctx.Err(); err != nil {
			yield(store.Record{}, err)
		}
	}
}

// ReadOnly reports whether the store was opened read-only.
func (s *Store) ReadOnly() bool { return s.opts.ReadOnly }
