package filestore

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"time"

	"github.com/complyhq/comply/store"
)

var _ store.Segmented = (*Store)(nil)

// Segments implements store.Segmented: a segment is one audit_*.jsonl
// file, named by its file name.
//
// Its Version joins the file's inode, the length of its complete lines and
// the CRC-32C of the (up to) 4096 bytes before that length, as the index
// sidecar does: an append changes the length, a rewrite by Delete or
// Expire (a new file renamed in place) the inode and the bytes.
//
// A segment is Sealed when it is not a writer's open file and either a
// later file of its day exists or has reached the rotation size (it was
// rotated), or its day is before today (UTC). A sealed file of a past day
// can still grow when a writer backfills that day; its Version then
// changes, so a summary built earlier is never taken for it.
func (s *Store) Segments(ctx context.Context, q store.Query) ([]store.Segment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.opts.ReadOnly {
		if err := s.refresh(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return nil, store.ErrClosed
	}
	today := dayOf(time.Now())
	var out []store.Segment
	for i, g := range s.segs {
		st := g.stats()
		if st.corrupt == 0 && (st.count == 0 ||
			!q.Start.IsZero() && st.maxT < q.Start.UnixMicro() ||
			!q.End.IsZero() && st.minT > q.End.UnixMicro()) {
			continue
		}
		crc, err := tailCRC(g.rf, g.size)
		if err != nil {
			return nil, fmt.Errorf("segments: %w", err)
		}
		rotated := g.size >= s.opts.RotationSize || i+1 < len(s.segs) && s.segs[i+1].day == g.day
		seg := store.Segment{
			Name:    g.name,
			Count:   st.count,
			Sealed:  g.w == nil && (rotated || g.day < today),
			Version: fmt.Sprintf("%x-%d-%08x", g.ino, g.size, crc),
		}
		if st.count > 0 {
			seg.Min, seg.Max = time.UnixMicro(st.minT).UTC(), time.UnixMicro(st.maxT).UTC()
		}
		out = append(out, seg)
	}
	return out, nil
}

// ScanSegment implements store.Segmented: Scan of one file, reading only
// the stretch of it between the first and the last line within q (the
// whole file if it holds a line that cannot be read).
func (s *Store) ScanSegment(ctx context.Context, name string, q store.Query) iter.Seq2[store.Record, error] {
	return func(yield func(store.Record, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(store.Record{}, err)
			return
		}
		vs, err := s.viewsOf(ctx, q, name)
		if err != nil {
			yield(store.Record{}, err)
			return
		}
		s.stream(ctx, vs, q, yield)
	}
}

// cut returns the stretch of g that a scan for q must read: from the
// offset of the first line within q, up to and including the line at
// last (-1: to the end). any is false when no line lies within q. The
// caller holds s.mu and has checked that g holds no damaged line (those
// are not in the index, and a scan reports them wherever they are). Cutting
// reads g's index entries, checking them on first use (sealed.checked).
func (g *segment) cut(q store.Query, st stats, maxLine int) (start, last int64, any bool, err error) {
	if st.count == 0 {
		return 0, -1, false, nil
	}
	if (q.Start.IsZero() || st.minT >= q.Start.UnixMicro()) && (q.End.IsZero() || st.maxT <= q.End.UnixMicro()) {
		return 0, -1, true, nil
	}
	lo, hi := int64(-1), int64(-1)
	in := func(off, t int64) {
		if !q.Contains(time.UnixMicro(t)) {
			return
		}
		if lo < 0 || off < lo {
			lo = off
		}
		if off > hi {
			hi = off
		}
	}
	data, err := g.sealed.checked(g.rf, maxLine)
	if err != nil {
		return 0, -1, false, err
	}
	le := binary.LittleEndian
	for i := 0; i+idxEntry <= len(data); i += idxEntry {
		in(int64(le.Uint64(data[i+16:])), int64(le.Uint64(data[i+24:])))
	}
	for _, e := range g.tail {
		in(e.off, e.time)
	}
	if lo < 0 {
		return 0, -1, false, nil
	}
	return lo, hi, true, nil
}

// ReadOnly reports whether the store was opened read-only.
func (s *Store) ReadOnly() bool { return s.opts.ReadOnly }
