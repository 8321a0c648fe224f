package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"slices"
	"time"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/store"
)

// Get implements store.Store. It looks the id up in the segments' indexes,
// first in the files of the day a version-7 id names, then in the others,
// and reads one line.
func (s *Store) Get(ctx context.Context, id string) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, err
	}
	k := keyOf(id)
	for attempt := 0; ; attempt++ {
		s.mu.RLock()
		if s.closed {
			s.mu.RUnlock()
			return store.Record{}, store.ErrClosed
		}
		rec, found, err := s.lookup(id, k)
		s.mu.RUnlock()
		if found || err != nil {
			return rec, err
		}
		if !s.opts.ReadOnly || attempt > 0 {
			return store.Record{}, fmt.Errorf("get %s: %w", id, store.ErrNotFound)
		}
		// A reader may not have seen the writer's newest lines yet.
		if err := s.refresh(ctx); err != nil {
			return store.Record{}, err
		}
	}
}

// refresh takes s.mu and brings the segment list up to date with the
// directory (refreshLocked): a reader's view of a concurrent writer.
func (s *Store) refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	return s.refreshLocked(ctx)
}

// lookup finds id among the segments. The caller holds s.mu for reading.
func (s *Store) lookup(id string, k key) (store.Record, bool, error) {
	day, hasDay := idDay(id)
	try := func(g *segment) (store.Record, bool, error) {
		offs, err := g.find(k, s.opts.MaxLineSize)
		if err != nil {
			return store.Record{}, false, fmt.Errorf("get %s: %w", id, err)
		}
		for _, off := range offs {
			b, err := readLine(g.rf, off, s.opts.MaxLineSize)
			if err != nil {
				return store.Record{}, false, &store.CorruptionError{Path: g.name, Offset: off, Err: err}
			}
			got, ts, err := line.Peek(b)
			if err == nil && got == id {
				return store.Record{ID: id, Time: ts, Line: b, Path: g.name, Offset: off}, true, nil
			}
		}
		return store.Record{}, false, nil
	}
	// The id's own day first, newest file first, then every other file.
	for pass := range 2 {
		for _, g := range slices.Backward(s.segs) {
			if hasDay && (g.day == day) != (pass == 0) || !hasDay && pass == 0 {
				continue
			}
			if rec, ok, err := try(g); ok || err != nil {
				return rec, ok, err
			}
		}
	}
	return store.Record{}, false, nil
}

// idDay returns the UTC day that a version-7 UUID's timestamp names.
func idDay(id string) (int32, bool) {
	if len(id) != 36 || id[14] != '7' {
		return 0, false
	}
	k := keyOf(id)
	var ms int64
	for _, b := range k[:6] {
		ms = ms<<8 | int64(b)
	}
	return dayOf(time.UnixMilli(ms)), true
}

// Count implements store.Store from the indexes, without reading lines.
func (s *Store) Count(ctx context.Context) (int64, error) {
	if s.opts.ReadOnly {
		if err := s.refresh(ctx); err != nil {
			return 0, err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	var n int64
	for _, g := range s.segs {
		n += g.count()
	}
	return n, nil
}

// Corrupt returns the number of lines that could not be read, over all
// files: damaged lines are never dropped, and they are never counted as
// entries either.
func (s *Store) Corrupt(ctx context.Context) (int64, error) {
	if s.opts.ReadOnly {
		if err := s.refresh(ctx); err != nil {
			return 0, err
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var n int64
	for _, g := range s.segs {
		n += g.stats().corrupt
	}
	return n, nil
}

// A view is what a scan reads of one segment: a handle of its own and the
// length of the complete lines at the time the scan started.
type view struct {
	name        string
	f           *os.File
	start, size int64 // the stretch to read: [start, size)
	last        int64 // stop after the line at this offset; -1: read to size
}

// views returns the segments a scan for q must read, skipping those whose
// time bounds lie outside q.
func (s *Store) views(ctx context.Context, q store.Query) ([]view, error) {
	return s.viewsOf(ctx, q, "")
}

// viewsOf is views for every segment, or for the one named only.
func (s *Store) viewsOf(ctx context.Context, q store.Query, only string) ([]view, error) {
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
	if only != "" && s.byName[only] == nil {
		return nil, fmt.Errorf("scan segment %s: %w", only, store.ErrNotFound)
	}
	var vs []view
	for _, g := range s.segs {
		if only != "" && g.name != only {
			continue
		}
		st := g.stats()
		if st.corrupt == 0 && (st.count == 0 ||
			!q.Start.IsZero() && st.maxT < q.Start.UnixMicro() ||
			!q.End.IsZero() && st.minT > q.End.UnixMicro()) {
			continue
		}
		// A handle of our own: the segment may be rewritten or removed
		// while the scan reads, and the scan keeps reading what it saw.
		f, err := dupFile(g.rf, g.name)
		if err != nil {
			closeViews(vs)
			return nil, fmt.Errorf("scan %s: %w", g.name, err)
		}
		v := view{name: g.name, f: f, size: g.size, last: -1}
		if st.corrupt == 0 {
			start, last, any, err := g.cut(q, st, s.opts.MaxLineSize)
			if err != nil {
				f.Close()
				closeViews(vs)
				return nil, fmt.Errorf("scan %s: %w", g.name, err)
			}
			if v.start, v.last = start, last; !any {
				f.Close()
				continue
			}
		}
		vs = append(vs, v)
	}
	return vs, nil
}

func closeViews(vs []view) {
	for _, v := range vs {
		v.f.Close()
	}
}

// Scan implements store.Store. It streams the files in day order, each in
// append order, skipping whole files by their time bounds; memory stays
// flat whatever the files hold. A reader goroutine reads and splits the
// files ahead of the caller, in batches, so that reading and whatever the
// caller does with the records (decoding them) run on two cores.
func (s *Store) Scan(ctx context.Context, q store.Query) iter.Seq2[store.Record, error] {
	return func(yield func(store.Record, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(store.Record{}, err)
			return
		}
		vs, err := s.views(ctx, q)
		if err != nil {
			yield(store.Record{}, err)
			return
		}
		// Files the store does not read are reported first: their lines
		// are in no scan, and a reader must not take the scan as all.
		strays, err := s.StrayFiles(ctx)
		if err != nil {
			closeViews(vs)
			yield(store.Record{}, fmt.Errorf("scan: %w", err))
			return
		}
		for _, sf := range strays {
			if !yield(store.Record{}, &store.CorruptionError{Path: sf.Path, Offset: -1, Err: sf}) {
				closeViews(vs)
				return
			}
		}
		s.stream(ctx, vs, q, yield)
	}
}

// stream yields the records within q of the views, which it closes: a
// reader goroutine reads and splits them ahead of the caller.
func (s *Store) stream(ctx context.Context, vs []view, q store.Query, yield func(store.Record, error) bool) {
	batches := make(chan scanBatch, 4)
	stop := make(chan struct{})
	go func() {
		defer close(batches)
		defer closeViews(vs)
		s.produce(ctx, vs, q, batches, stop)
	}()
	defer func() {
		close(stop)
		for range batches { // let the reader finish and close its files
		}
	}()
	for b := range batches {
		if err := ctx.Err(); err != nil {
			yield(store.Record{}, err)
			return
		}
		for _, r := range b.recs {
			if !yield(r, nil) {
				return
			}
		}
		if b.err != nil && (!yield(store.Record{}, b.err) || ctx.Err() != nil) {
			return
		}
	}
	if err := ctx.Err(); err != nil {
		yield(store.Record{}, err) // a cut scan never looks complete
	}
}

// A scanBatch is some records, their lines sharing one allocation, and an
// error that follows them.
type scanBatch struct {
	recs []store.Record
	err  error
}

const (
	batchRecords = 512
	batchBytes   = 512 << 10
)

// produce reads the views and sends batches until done or stopped.
func (s *Store) produce(ctx context.Context, vs []view, q store.Query, out chan<- scanBatch, stop <-chan struct{}) {
	var b scanBatch
	var arena []byte
	send := func() bool {
		select {
		case out <- b:
			b, arena = scanBatch{}, nil
			return true
		case <-stop:
			return false
		}
	}
	for _, v := range vs {
		lr := newLineReader(v.f, v.start, v.size, s.opts.MaxLineSize)
		for n := 0; ; n++ {
			if n&1023 == 0 && ctx.Err() != nil {
				b.err = ctx.Err()
				send()
				return
			}
			off, ln, err := lr.next()
			if err == io.EOF || v.last >= 0 && off > v.last {
				break
			}
			if err != nil && !errors.Is(err, errLineTooLong) {
				b.err = fmt.Errorf("scan %s: %w", v.name, err)
				send()
				return
			}
			var id string
			var ts time.Time
			if err == nil {
				id, ts, err = line.Peek(ln)
			}
			if err != nil {
				b.err = &store.CorruptionError{Path: v.name, Offset: off, Err: err}
				if !send() {
					return
				}
				continue
			}
			if !q.Contains(ts) {
				continue
			}
			if cap(arena)-len(arena) < len(ln) {
				arena = make([]byte, 0, max(batchBytes, len(ln)))
			}
			start := len(arena)
			arena = append(arena, ln...)
			b.recs = append(b.recs, store.Record{ID: id, Time: ts, Line: arena[start:len(arena):len(arena)], Path: v.name, Offset: off})
			if len(b.recs) == batchRecords && !send() {
				return
			}
		}
	}
	if len(b.recs) > 0 {
		send()
	}
}
