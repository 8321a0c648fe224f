package comply

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"sync"
	"time"

	"github.com/complyhq/comply/store"
)

// Segment summaries (docs/format.md, section 8).
//
// Over a store that is store.Segmented, the Logger keeps for each segment
// and each summary kind a small blob, summary/<kind>/<segment>, in the
// store's sidecar (store.Sidecar), carrying the segment Version it was
// built at. A summary is used only while the segment still has that
// version; one missing, damaged or stale is rebuilt from the segment
// (ScanSegment), never trusted. A writer builds them for sealed segments
// in the background (when the Logger opens, then every summaryInterval);
// a reader, or a query that finds a segment without one, builds it in
// memory; either way it is cached in the process.
//
// Adding a kind: implement summaryKind and add a value to
// Logger.summaryKinds (the rollups, rollup.go; the skip filters,
// skipkind.go). A kind sees each entry of the segment once, in storage
// order, and each line that could not be read as an error; its blob must
// hold the version it was given and must fail decode when damaged.
//
//	type summaryKind interface {
//		name() string // the blob folder: summary/<name>/
//		build(entries iter.Seq2[*Entry, error]) (any, error)
//		encode(v any, version string) []byte
//		decode(blob []byte) (v any, version string, err error)
//	}
//
// Read a kind's summary of a segment with Logger.summary(ctx, kind, seg).
type summaryKind interface {
	name() string
	build(entries iter.Seq2[*Entry, error]) (any, error)
	encode(v any, version string) []byte
	decode(blob []byte) (v any, version string, err error)
}

// summaryKinds returns the kinds the writer's background pass builds.
func (l *Logger) summaryKinds() []summaryKind {
	return []summaryKind{rollupKind{}, filterKind{l.fspec}}
}

// summaryInterval is how often a writer looks for sealed segments that
// lack summaries.
var summaryInterval = 5 * time.Minute

// summaryCache holds the summaries a process has read or built.
type summaryCache struct {
	mu sync.Mutex
	m  map[string]cachedSummary // kind + "\x00" + segment
}

type cachedSummary struct {
	version string
	v       any
}

func (c *summaryCache) get(kind, seg, version string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[kind+"\x00"+seg]
	if !ok || s.version != version {
		return nil, false
	}
	return s.v, true
}

func (c *summaryCache) put(kind, seg, version string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]cachedSummary)
	}
	c.m[kind+"\x00"+seg] = cachedSummary{version: version, v: v}
}

// segmented returns the Logger's store as a store.Segmented and its
// sidecar (nil if it keeps none), or false.
func (l *Logger) segmented() (store.Segmented, store.Sidecar, bool) {
	s := l.store
	sc, _ := s.(store.Sidecar)
	if is, ok := s.(*integrityStore); ok {
		s = is.Store
	}
	sg, ok := s.(store.Segmented)
	return sg, sc, ok
}

// summaryBlob returns the blob name of a kind's summary of a segment: the
// segment's name where it is a valid blob name (an S3 key's slashes make
// folders), else "x-" and its hex.
func summaryBlob(kind, seg string) string {
	name := "summary/" + kind + "/" + seg
	if store.CheckBlobName(name) != nil {
		name = "summary/" + kind + "/x-" + hex.EncodeToString([]byte(seg))
	}
	return name
}

// summary returns kind's summary of seg: from the process's cache, else
// from its blob if that was built at seg's version, else built from the
// segment (and written, when persist is set and seg is sealed).
func (l *Logger) summary(ctx context.Context, k summaryKind, seg store.Segment, persist bool) (any, error) {
	if v, ok, err := l.storedSummary(ctx, k, seg); ok || err != nil {
		return v, err
	}
	vs, err := l.rebuildSummaries(ctx, []summaryKind{k}, seg, persist)
	if err != nil {
		return nil, err
	}
	return vs[0], nil
}

// storedSummary returns kind's summary of seg from the process's cache or
// from its blob, if either holds it at seg's version.
func (l *Logger) storedSummary(ctx context.Context, k summaryKind, seg store.Segment) (any, bool, error) {
	if v, ok := l.summaries.get(k.name(), seg.Name, seg.Version); ok {
		return v, true, nil
	}
	_, sc, ok := l.segmented()
	if !ok {
		return nil, false, fmt.Errorf("summary of %s: %w", seg.Name, errors.ErrUnsupported)
	}
	if sc == nil {
		return nil, false, nil
	}
	b, err := sc.ReadBlob(ctx, summaryBlob(k.name(), seg.Name))
	if err != nil {
		if ctx.Err() != nil {
			return nil, false, err
		}
		return nil, false, nil // missing (or unreadable): rebuilt
	}
	v, version, err := k.decode(b)
	if err != nil || version != seg.Version {
		return nil, false, nil // damaged or stale: rebuilt
	}
	l.summaries.put(k.name(), seg.Name, seg.Version, v)
	return v, true, nil
}

// rebuildSummaries builds the kinds' summaries of seg from one scan of it,
// caches them, and writes them when persist is set and seg is sealed.
func (l *Logger) rebuildSummaries(ctx context.Context, kinds []summaryKind, seg store.Segment, persist bool) ([]any, error) {
	sg, sc, _ := l.segmented()
	vs, err := buildKinds(kinds, segmentEntries(ctx, sg, seg.Name, store.Query{}))
	if err != nil {
		return nil, fmt.Errorf("summary of %s: %w", seg.Name, err)
	}
	for i, k := range kinds {
		l.summaries.put(k.name(), seg.Name, seg.Version, vs[i])
		if !persist || !seg.Sealed || sc == nil {
			continue
		}
		if err := sc.WriteBlob(ctx, summaryBlob(k.name(), seg.Name), k.encode(vs[i], seg.Version)); err != nil && !errors.Is(err, store.ErrReadOnly) && ctx.Err() == nil {
			l.opts.ErrorLog.Warn("comply: writing a segment summary failed", "segment", seg.Name, "err", err)
		}
	}
	return vs, nil
}

// buildKinds runs every kind's build over one pass of entries: each on a
// goroutine of its own, fed the same batches of entries (read-only), so
// that a segment is read and decoded once however many kinds it needs.
func buildKinds(kinds []summaryKind, entries iter.Seq2[*Entry, error]) ([]any, error) {
	if len(kinds) == 1 {
		v, err := kinds[0].build(entries)
		return []any{v}, err
	}
	type item struct {
		e   Entry
		err error
	}
	const batchSize = 256
	vs := make([]any, len(kinds))
	errs := make([]error, len(kinds))
	feeds := make([]chan []item, len(kinds))
	var wg sync.WaitGroup
	for i, k := range kinds {
		feed := make(chan []item, 4)
		feeds[i] = feed
		wg.Go(func() {
			defer func() {
				for range feed { // a build that stopped early
				}
			}()
			vs[i], errs[i] = k.build(func(yield func(*Entry, error) bool) {
				for batch := range feed {
					for j := range batch {
						var e *Entry
						if batch[j].err == nil {
							e = &batch[j].e
						}
						if !yield(e, batch[j].err) {
							return
						}
					}
				}
			})
		})
	}
	send := func(batch []item) {
		for _, feed := range feeds {
			feed <- batch
		}
	}
	batch := make([]item, 0, batchSize)
	for e, err := range entries {
		it := item{err: err}
		if err == nil {
			it.e = *e
		}
		if batch = append(batch, it); len(batch) == batchSize {
			send(batch)
			batch = make([]item, 0, batchSize)
		}
	}
	if len(batch) > 0 {
		send(batch)
	}
	for _, feed := range feeds {
		close(feed)
	}
	wg.Wait()
	return vs, errors.Join(errs...)
}

// segmentEntries yields the decoded entries of a segment within q, and
// its unreadable lines as errors. A cancelled ctx, or a segment that
// cannot be read at all, ends it with an error errors.Is can tell
// (ctx.Err(), store.ErrNotFound) from a damaged line.
func segmentEntries(ctx context.Context, sg store.Segmented, name string, q store.Query) iter.Seq2[*Entry, error] {
	return func(yield func(*Entry, error) bool) {
		var e Entry
		for rec, err := range sg.ScanSegment(ctx, name, q) {
			if err == nil {
				e, err = decode(rec)
			}
			if err != nil {
				if !yield(nil, err) {
					return
				}
				continue
			}
			if !yield(&e, nil) {
				return
			}
		}
	}
}

// fatalScanError reports whether err, met in a scan, ends it rather than
// standing for one damaged line.
func fatalScanError(ctx context.Context, err error) bool {
	return ctx.Err() != nil || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrClosed)
}

// buildSummaries builds and writes the summaries that the sealed
// segments lack. It is the writer's background pass.
func (l *Logger) buildSummaries(ctx context.Context) error {
	sg, sc, ok := l.segmented()
	if !ok || sc == nil {
		return nil
	}
	segs, err := sg.Segments(ctx, store.Query{})
	if err != nil {
		if errors.Is(err, errors.ErrUnsupported) {
			return nil
		}
		return err
	}
	for _, seg := range segs {
		if !seg.Sealed {
			continue
		}
		var missing []summaryKind
		for _, k := range l.summaryKinds() {
			if _, ok, err := l.storedSummary(ctx, k, seg); err != nil {
				return err
			} else if !ok {
				missing = append(missing, k)
			}
		}
		if len(missing) == 0 {
			continue
		}
		if _, err := l.rebuildSummaries(ctx, missing, seg, true); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// summaryLoop runs buildSummaries when the Logger opens and then every
// summaryInterval, until Close.
func (l *Logger) summaryLoop(first chan<- struct{}) {
	defer l.done.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-l.stop
		cancel()
	}()
	t := time.NewTicker(summaryInterval)
	defer t.Stop()
	for {
		if err := l.buildSummaries(ctx); err != nil && ctx.Err() == nil {
			l.opts.ErrorLog.Warn("comply: building segment summaries failed", "err", err)
		}
		if first != nil {
			close(first)
			first = nil
		}
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
	}
}

// A readOnlyStore says whether it was opened read-only (the file and S3
// stores do).
type readOnlyStore interface{ ReadOnly() bool }

// writesSummaries reports whether the Logger runs the background pass: a
// store that is Segmented, keeps a sidecar and is not read-only.
func (l *Logger) writesSummaries() bool {
	_, sc, ok := l.segmented()
	if !ok || sc == nil {
		return false
	}
	s := l.store
	if is, ok := s.(*integrityStore); ok {
		s = is.Store
	}
	ro, ok := s.(readOnlyStore)
	return !ok || !ro.ReadOnly()
}
