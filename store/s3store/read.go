package s3store

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/store"
)

// Reading the segments layout.

// An item is what a read yields: a record, or the error that stands for a
// damaged one.
type item struct {
	rec store.Record
	err error
}

// listDay lists d's segments, from the cache unless fresh.
func (s *Store) listDay(ctx context.Context, d day, fresh bool) (*dayList, error) {
	if !fresh {
		if l := s.cache.day(d); l != nil {
			return l, nil
		}
	}
	var all []segInfo
	err := s.list(ctx, d.segPrefix(), func(o object) error {
		if n, ok := parseSegKey(o.rel); ok && n.day == d {
			all = append(all, newSegInfo(n, o.rel, o.size))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	l := newDayList(all)
	s.cache.putDay(d, l)
	return l, nil
}

const (
	minDay day = 0
	maxDay day = 99999999
)

// queryDays returns the day bounds of q.
func queryDays(q store.Query) (day, day) {
	from, to := minDay, maxDay
	if !q.Start.IsZero() {
		from = dayOf(q.Start)
	}
	if !q.End.IsZero() {
		to = dayOf(q.End)
	}
	return from, to
}

// segDays returns the days within [from, to] that hold segments, in
// ascending order, listing the year, month and day folders and pruning by
// the bounds at each level.
func (s *Store) segDays(ctx context.Context, from, to day) ([]day, error) {
	years, err := s.dirs(ctx, segDir)
	if err != nil {
		return nil, err
	}
	var out []day
	for _, y := range years {
		yi, err := strconv.Atoi(y)
		if err != nil || len(y) != 4 || yi < int(from)/10000 || yi > int(to)/10000 {
			continue
		}
		months, err := s.dirs(ctx, segDir+y+"/")
		if err != nil {
			return nil, err
		}
		for _, m := range months {
			mi, err := strconv.Atoi(m)
			if err != nil || len(m) != 2 || mi < 1 || mi > 12 {
				continue
			}
			if ym := yi*100 + mi; ym < int(from)/100 || ym > int(to)/100 {
				continue
			}
			days, err := s.dirs(ctx, segDir+y+"/"+m+"/")
			if err != nil {
				return nil, err
			}
			for _, dd := range days {
				di, err := strconv.Atoi(dd)
				if err != nil || len(dd) != 2 || di < 1 || di > 31 {
					continue
				}
				if d := day(yi*10000 + mi*100 + di); d >= from && d <= to {
					out = append(out, d)
				}
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// overlaps reports whether a segment's time bounds meet q's.
func overlaps(n segName, q store.Query) bool {
	return (q.Start.IsZero() || !time.UnixMicro(n.maxT).Before(q.Start)) &&
		(q.End.IsZero() || !time.UnixMicro(n.minT).After(q.End))
}

// within reports whether a segment lies wholly within q.
func within(n segName, q store.Query) bool {
	return q.Contains(time.UnixMicro(n.minT)) && q.Contains(time.UnixMicro(n.maxT))
}

// segIndex returns a segment's index: from the cache, else with one ranged
// GET of the object's tail (two if the index is larger than the tail).
func (s *Store) segIndex(ctx context.Context, info segInfo) (*segIndex, error) {
	rel := info.rel()
	if x := s.cache.index(rel); x != nil {
		return x, nil
	}
	if info.size < footerSize {
		return nil, &store.CorruptionError{Path: s.full(rel), Offset: 0, Err: errors.New("segment too short for a footer")}
	}
	n := min(info.size, 64<<10)
	tail, _, err := s.get(ctx, rel, fmt.Sprintf("bytes=-%d", n))
	if err != nil {
		return nil, err
	}
	if int64(len(tail)) != n {
		return nil, &store.CorruptionError{Path: s.full(rel), Offset: info.size - n, Err: errors.New("object shorter than listed")}
	}
	f, err := parseFooter(tail[n-footerSize:], info.size)
	if err != nil {
		return nil, &store.CorruptionError{Path: s.full(rel), Offset: info.size - footerSize, Err: err}
	}
	var ib []byte
	if base := info.size - n; f.indexOff >= base {
		ib = tail[f.indexOff-base : f.indexOff-base+f.indexLen]
	} else if ib, _, err = s.get(ctx, rel, fmt.Sprintf("bytes=%d-%d", f.indexOff, f.indexOff+f.indexLen-1)); err != nil {
		return nil, err
	}
	x, err := parseIndex(ib, f)
	if err != nil {
		return nil, &store.CorruptionError{Path: s.full(rel), Offset: f.indexOff, Err: err}
	}
	s.cache.putIndex(rel, x)
	return x, nil
}

// toItem turns a raw line of the segment at path into an item, or nothing
// if the record lies outside q.
func toItem(path string, l rawLine, q store.Query) (item, bool) {
	if l.err != nil {
		return item{err: &store.CorruptionError{Path: path, Offset: l.off, Err: l.err}}, true
	}
	id, ts, err := line.Peek(l.line)
	if err != nil {
		return item{err: &store.CorruptionError{Path: path, Offset: l.off, Err: err}}, true
	}
	if !q.Contains(ts) {
		return item{}, false
	}
	n := len(l.line)
	return item{rec: store.Record{ID: id, Time: ts, Line: l.line[:n:n], Path: path, Offset: l.off}}, true
}

// readSeg reads the records of one segment that lie within q. A large
// segment only partly within q is read through its index: one ranged GET
// of the blocks that overlap q.
func (s *Store) readSeg(ctx context.Context, info segInfo, q store.Query) []item {
	rel := info.rel()
	path := s.full(rel)
	var items []item
	collect := func(l rawLine) bool {
		if it, ok := toItem(path, l, q); ok {
			items = append(items, it)
		}
		return true
	}
	if !within(info.name, q) && info.size > 128<<10 {
		if x, err := s.segIndex(ctx, info); err == nil {
			first, last := -1, -1
			for i, b := range x.blocks {
				if overlaps(segName{minT: b.minT, maxT: b.maxT}, q) {
					if first < 0 {
						first = i
					}
					last = i
				}
			}
			if first < 0 {
				return nil
			}
			lo, hi := x.blocks[first].off, x.blocks[last].off+x.blocks[last].clen
			comp, _, err := s.get(ctx, rel, fmt.Sprintf("bytes=%d-%d", lo, hi-1))
			if err != nil {
				return readErr(err)
			}
			segmentLines(x, first, last+1, comp, collect)
			return items
		}
	}
	body, _, err := s.get(ctx, rel, "")
	if err != nil {
		return readErr(err)
	}
	x, err := readIndex(body)
	if err != nil {
		wholeLines(body, collect) // the lines are readable without the index
		return items
	}
	s.cache.putIndex(rel, x)
	if x.count != info.name.count {
		// A segment renamed to claim other lines than it holds: Count,
		// which adds up the names, would disagree with what is read.
		items = append(items, item{err: &store.CorruptionError{Path: path, Offset: 0,
			Err: fmt.Errorf("the segment's name claims %d entries, it holds %d", info.name.count, x.count)}})
	}
	segmentLines(x, 0, len(x.blocks), body[:x.dataEnd], collect)
	return items
}

// readErr is the outcome of a failed fetch: nothing if the object is gone
// (deleted or rewritten since it was listed), else the error.
func readErr(err error) []item {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return []item{{err: err}}
}

// readLine returns line i of a segment, through its index: one ranged GET
// of the block that holds it.
func (s *Store) readLine(ctx context.Context, info segInfo, x *segIndex, i int) (store.Record, error) {
	rel := info.rel()
	path := s.full(rel)
	bi := x.blockOf(i)
	b := x.blocks[bi]
	comp, _, err := s.get(ctx, rel, fmt.Sprintf("bytes=%d-%d", b.off, b.off+b.clen-1))
	if err != nil {
		return store.Record{}, err
	}
	var rec store.Record
	var rerr error
	n := b.first
	segmentLines(x, bi, bi+1, comp, func(l rawLine) bool {
		if l.err != nil {
			rerr = &store.CorruptionError{Path: path, Offset: l.off, Err: l.err}
			return false
		}
		if n < i {
			n++
			return true
		}
		id, ts, err := line.Peek(l.line)
		switch {
		case err != nil:
			rerr = &store.CorruptionError{Path: path, Offset: l.off, Err: err}
		case id != x.ids[i]:
			rerr = &store.CorruptionError{Path: path, Offset: l.off, Err: fmt.Errorf("index names id %s, line holds %s", x.ids[i], id)}
		default:
			rec = store.Record{ID: id, Time: ts, Line: slices.Clone(l.line), Path: path, Offset: l.off}
		}
		return false
	})
	if rerr == nil && rec.ID == "" {
		rerr = &store.CorruptionError{Path: path, Offset: b.uoff, Err: errors.New("block holds fewer lines than its index says")}
	}
	return rec, rerr
}

// findIn looks for id in one segment: through its index, or by reading it
// whole if the index is damaged.
func (s *Store) findIn(ctx context.Context, info segInfo, id string) (store.Record, bool, error) {
	x, err := s.segIndex(ctx, info)
	if err == nil {
		i := x.find(id)
		if i < 0 {
			return store.Record{}, false, nil
		}
		rec, err := s.readLine(ctx, info, x, i)
		return rec, err == nil, err
	}
	var ce *store.CorruptionError
	if !errors.As(err, &ce) {
		if errors.Is(err, store.ErrNotFound) {
			return store.Record{}, false, nil
		}
		return store.Record{}, false, err
	}
	for _, it := range s.readSeg(ctx, info, store.Query{}) {
		if it.err == nil && it.rec.ID == id {
			it.rec.Line = slices.Clone(it.rec.Line)
			return it.rec, true, nil
		}
	}
	return store.Record{}, false, nil
}

// findAmong looks for id in segs, fetching up to ReadConcurrency indexes
// at once.
func (s *Store) findAmong(ctx context.Context, segs []segInfo, id string) (store.Record, bool, error) {
	if len(segs) == 0 {
		return store.Record{}, false, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		rec store.Record
		ok  bool
	}
	var (
		mu    sync.Mutex
		found *result
		first error
		wg    sync.WaitGroup
	)
	sem := make(chan struct{}, s.readConcurrency())
	for _, info := range segs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			rec, ok, err := s.findIn(ctx, info, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case ok && found == nil:
				found = &result{rec: rec, ok: true}
				cancel()
			case err != nil && first == nil && ctx.Err() == nil:
				first = err
			}
		})
	}
	wg.Wait()
	if found != nil {
		return found.rec, true, nil
	}
	if first != nil {
		return store.Record{}, false, first
	}
	return store.Record{}, false, nil
}

func (s *Store) readConcurrency() int {
	if s.opts.ReadConcurrency > 0 {
		return s.opts.ReadConcurrency
	}
	if s.cfg.layout == Seed {
		return 32
	}
	return 16
}

// plausible reports whether a version-7 id's time may be a real entry's:
// between 2000 and a day from now.
func plausible(ms int64) bool {
	return ms >= 946684800000 && ms <= time.Now().Add(24*time.Hour).UnixMilli()
}

// allDays returns every day that holds segments, most recent first: the
// cached list unless fresh.
func (s *Store) allDays(ctx context.Context, fresh bool) ([]day, error) {
	if !fresh {
		if days, ok := s.cache.allDays(); ok {
			return days, nil
		}
	}
	days, err := s.segDays(ctx, minDay, maxDay)
	if err != nil {
		return nil, err
	}
	slices.Reverse(days)
	s.cache.putAllDays(days)
	return days, nil
}

// getSeg implements Get for the segments layout. A version-7 id with a
// plausible time is looked for in its own day only, first in the
// segments whose time bounds hold its millisecond; any other id in every
// day, most recent first. Cached listings are tried first, and listed
// again before an id is reported missing.
func (s *Store) getSeg(ctx context.Context, id string) (store.Record, error) {
	if s.w != nil {
		if rec, ok := s.w.pendingRecord(id); ok {
			return rec, nil
		}
	}
	ms, v7 := idTime(id)
	v7 = v7 && plausible(ms)
	near := store.Query{Start: time.UnixMilli(ms), End: time.UnixMilli(ms).Add(time.Millisecond - time.Microsecond)}
	searched := map[string]bool{}
	search := func(d day, fresh bool) (store.Record, bool, error) {
		l, err := s.listDay(ctx, d, fresh)
		if err != nil {
			return store.Record{}, false, err
		}
		var first, rest []segInfo
		for _, g := range l.segs {
			if searched[g.rel()] {
				continue
			}
			searched[g.rel()] = true
			if v7 && overlaps(g.name, near) {
				first = append(first, g)
			} else {
				rest = append(rest, g)
			}
		}
		for _, segs := range [][]segInfo{first, rest} {
			if rec, ok, err := s.findAmong(ctx, segs, id); ok || err != nil {
				return rec, ok, err
			}
		}
		return store.Record{}, false, nil
	}
	for _, fresh := range []bool{false, true} {
		days := []day{dayOfMicro(ms * 1000)}
		if !v7 {
			var err error
			if days, err = s.allDays(ctx, fresh); err != nil {
				return store.Record{}, fmt.Errorf("get %s: %w", id, err)
			}
		}
		for _, d := range days {
			rec, ok, err := search(d, fresh)
			if err != nil {
				return store.Record{}, fmt.Errorf("get %s: %w", id, err)
			}
			if ok {
				return rec, nil
			}
		}
	}
	return store.Record{}, fmt.Errorf("get %s: %w", id, store.ErrNotFound)
}

// A segStream is one writer's records of one day, in write order:
// its segments in sequence order, fetched ahead by a producer.
type segStream struct {
	writer string
	futs   chan *future
	cur    []item
	pos    int
}

type future struct {
	done  chan struct{}
	items []item
}

func (st *segStream) next(ctx context.Context) (item, bool) {
	for st.pos >= len(st.cur) {
		f, ok := <-st.futs
		if !ok {
			return item{}, false
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return item{err: ctx.Err()}, true
		}
		st.cur, st.pos = f.items, 0
	}
	it := st.cur[st.pos]
	st.cur[st.pos] = item{}
	st.pos++
	return it, true
}

// scanSeg implements Scan for the segments layout: day by day, each day's
// writers merged by time, each writer's records in write order.
func (s *Store) scanSeg(ctx context.Context, q store.Query, yield func(store.Record, error) bool) {
	from, to := queryDays(q)
	days, err := s.segDays(ctx, from, to)
	if err != nil {
		yield(store.Record{}, fmt.Errorf("scan: %w", err))
		return
	}
	for _, d := range days {
		l, err := s.listDay(ctx, d, true)
		if err != nil {
			yield(store.Record{}, fmt.Errorf("scan: %w", err))
			return
		}
		var segs []segInfo
		for _, g := range l.segs {
			if overlaps(g.name, q) {
				segs = append(segs, g)
			}
		}
		if len(segs) > 0 && !s.scanDay(ctx, segs, q, yield) {
			return
		}
	}
}

func (s *Store) scanDay(ctx context.Context, segs []segInfo, q store.Query, yield func(store.Record, error) bool) bool {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	var groups [][]segInfo
	for i, g := range segs {
		if i == 0 || g.name.writer != segs[i-1].name.writer {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], g)
	}
	conc := s.readConcurrency()
	depth := max(1, conc/len(groups))
	sem := make(chan struct{}, conc)
	streams := make([]*segStream, len(groups))
	for i, g := range groups {
		st := &segStream{writer: g[0].name.writer, futs: make(chan *future, depth)}
		streams[i] = st
		wg.Go(func() {
			defer close(st.futs)
			for _, info := range g {
				f := &future{done: make(chan struct{})}
				select {
				case st.futs <- f:
				case <-ctx.Done():
					return
				}
				wg.Go(func() {
					defer close(f.done)
					select {
					case sem <- struct{}{}:
					case <-ctx.Done():
						return
					}
					defer func() { <-sem }()
					f.items = s.readSeg(ctx, info, q)
				})
			}
		})
	}
	return mergeStreams(ctx, streams, yield)
}

// mergeStreams yields the streams' items merged by time; errors first, as
// soon as they reach the head of their stream.
func mergeStreams(ctx context.Context, streams []*segStream, yield func(store.Record, error) bool) bool {
	heads := make([]item, len(streams))
	live := make([]bool, len(streams))
	for i, st := range streams {
		heads[i], live[i] = st.next(ctx)
	}
	for n := 0; ; n++ {
		if n&1023 == 0 {
			if err := ctx.Err(); err != nil {
				yield(store.Record{}, err)
				return false
			}
		}
		best := -1
		for i := range streams {
			if !live[i] {
				continue
			}
			if heads[i].err != nil {
				best = i
				break
			}
			if best < 0 || heads[i].rec.Time.Before(heads[best].rec.Time) {
				best = i
			}
		}
		if best < 0 {
			return true
		}
		it := heads[best]
		if errors.Is(it.err, context.Canceled) || errors.Is(it.err, context.DeadlineExceeded) {
			yield(store.Record{}, it.err)
			return false
		}
		if !yield(it.rec, it.err) {
			return false
		}
		heads[best], live[best] = streams[best].next(ctx)
	}
}

// countSeg implements Count for the segments layout: from the listing
// alone, without reading an object.
func (s *Store) countSeg(ctx context.Context) (int64, error) {
	byDay := map[day][]segInfo{}
	err := s.list(ctx, segDir, func(o object) error {
		if n, ok := parseSegKey(o.rel); ok {
			byDay[n.day] = append(byDay[n.day], newSegInfo(n, o.rel, o.size))
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	var n int64
	for _, all := range byDay {
		for _, g := range newDayList(all).segs {
			n += g.name.count
		}
	}
	return n, nil
}

// Get implements store.Store.
func (s *Store) Get(ctx context.Context, id string) (store.Record, error) {
	if err := ctx.Err(); err != nil {
		return store.Record{}, err
	}
	if s.isClosed() {
		return store.Record{}, store.ErrClosed
	}
	if id == "" {
		return store.Record{}, fmt.Errorf("get: empty id: %w", store.ErrNotFound)
	}
	if s.cfg.layout == Seed {
		return s.getSeed(ctx, id)
	}
	return s.getSeg(ctx, id)
}

// Scan implements store.Store. Days are read in ascending order; within a
// day, the writers' records are merged by time, each writer's in the order
// it wrote them. Only the days within q are listed, and only the segments
// whose time bounds meet q are fetched, up to ReadConcurrency at once.
func (s *Store) Scan(ctx context.Context, q store.Query) iter.Seq2[store.Record, error] {
	return func(yield func(store.Record, error) bool) {
		if err := ctx.Err(); err != nil {
			yield(store.Record{}, err)
			return
		}
		if s.isClosed() {
			yield(store.Record{}, store.ErrClosed)
			return
		}
		if err := s.sync(ctx); err != nil {
			yield(store.Record{}, fmt.Errorf("scan: %w", err))
			return
		}
		// A cut scan never looks complete: unless the caller stopped or
		// was told, a cancelled ctx ends the scan with its error.
		told := false
		y := func(r store.Record, err error) bool {
			if err != nil && ctx.Err() != nil {
				told = true
			}
			if !yield(r, err) {
				told = true
				return false
			}
			return true
		}
		if s.cfg.layout == Seed {
			s.scanSeed(ctx, q, y)
		} else {
			s.scanSeg(ctx, q, y)
		}
		if err := ctx.Err(); err != nil && !told {
			yield(store.Record{}, err)
		}
	}
}

// Count implements store.Store, from listings alone.
func (s *Store) Count(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	if err := s.sync(ctx); err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	if s.cfg.layout == Seed {
		return s.countSeed(ctx)
	}
	return s.countSeg(ctx)
}
