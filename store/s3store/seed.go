package s3store

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/store"
)

// The seed layout: one object per entry at prefix/YYYY-MM-DD/<id>.json,
// holding the entry's line, as the Python library's S3Storage writes it.
//
// Objects this package writes carry user metadata comply-order
// ("<session>-<seq>", which sorts in write order) and comply-writer, so
// that a scan gives each writer's entries of a day in write order. Objects
// without it (the Python library's) are ordered by time, then key.

const (
	metaOrder  = "comply-order"
	metaWriter = "comply-writer"
	seedType   = "application/json"
)

type seedWriter struct {
	s       *Store
	session string // this run's start, µs, fixed width: orders runs of a named writer
	seq     uint64 // guarded by s.mu

	mu     sync.Mutex // guards failed; never held with s.mu
	failed []seedPut  // observed but not stored: retried before the next write

	puts sync.WaitGroup // storeAll goroutines, which Close waits for
}

type seedPut struct {
	rel   string
	body  []byte
	order string
}

func newSeedWriter(s *Store) *seedWriter {
	return &seedWriter{s: s, session: fmt.Sprintf("%016d", time.Now().UnixMicro())}
}

func seedRel(id string, t time.Time) string {
	return dayOf(t).seedPrefix() + id + seedExt
}

func (w *seedWriter) append(ctx context.Context, recs []store.Record) error {
	s := w.s
	for _, r := range recs {
		if !seedKeyOK(r.ID) {
			return fmt.Errorf("append %q: id cannot name an object in the seed layout (want letters, digits, '-', '_' or '.')", r.ID)
		}
	}
	if err := w.redo(ctx); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	puts := make([]seedPut, len(recs))
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	for i, r := range recs {
		w.seq++
		puts[i] = seedPut{rel: seedRel(r.ID, r.Time), body: slices.Clone(r.Line), order: fmt.Sprintf("%s-%012d", w.session, w.seq)}
	}
	if s.observer != nil {
		s.observer(recs)
	}
	s.mu.Unlock()
	if err := w.storeAll(ctx, puts, func(failed []seedPut) { w.failed = append(w.failed, failed...) }); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	s.cnt.entries.Add(int64(len(recs)))
	return nil
}

// storeAll stores the objects on a goroutine of its own and waits for it,
// or for ctx: a cancelled caller stops waiting, but the objects, which the
// observer has seen, are stored all the same, and those that fail are
// handed to requeue (under w.mu) for the next write to retry.
func (w *seedWriter) storeAll(ctx context.Context, puts []seedPut, requeue func([]seedPut)) error {
	done := make(chan error, 1)
	w.s.mu.Lock()
	if w.s.closed {
		w.s.mu.Unlock()
		return store.ErrClosed
	}
	w.puts.Add(1) // under s.mu, before Close waits
	w.s.mu.Unlock()
	parts := w.s.cutParts("")
	go func() {
		defer w.puts.Done()
		// The journal first: objects are never stored without the
		// intents of their entries.
		var failed []seedPut
		err := w.s.waitParts(context.Background(), parts)
		if err != nil {
			err, failed = fmt.Errorf("storing the journal: %w", err), puts
		} else {
			failed, err = w.putAll(puts)
		}
		if err != nil {
			w.mu.Lock()
			requeue(failed)
			w.mu.Unlock()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// errTaken says that an entry's object exists with other content: the id
// is taken, and retrying cannot help.
var errTaken = errors.New("an object for this id already exists with other content")

// putAll stores the objects, up to 32 at once, and returns those that
// could not be stored and are worth retrying. It does not take the
// caller's context: a record the observer has seen is stored whatever the
// caller does.
func (w *seedWriter) putAll(puts []seedPut) ([]seedPut, error) {
	ctx, cancel := context.WithTimeout(context.Background(), putTimeout)
	defer cancel()
	var (
		mu     sync.Mutex
		failed []seedPut
		first  error
		wg     sync.WaitGroup
	)
	sem := make(chan struct{}, 32)
	for _, p := range puts {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			err := w.put(ctx, p)
			if err != nil {
				mu.Lock()
				if !errors.Is(err, errTaken) {
					failed = append(failed, p)
				}
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return failed, first
}

func (w *seedWriter) put(ctx context.Context, p seedPut) error {
	s := w.s
	sha := sum(p.body)
	meta := map[string]string{metaOrder: p.order, metaWriter: s.writer, metaSum: sha}
	err := s.put(ctx, p.rel, p.body, seedType, meta, true)
	if errors.Is(err, errExists) {
		h, herr := s.head(ctx, p.rel, "")
		if herr == nil && h.Metadata[metaSum] == sha {
			return nil // an earlier attempt of ours
		}
		return fmt.Errorf("put %s: %w", s.full(p.rel), errTaken)
	}
	return err
}

// redo retries the objects an earlier Append failed to store.
func (w *seedWriter) redo(ctx context.Context) error {
	todo := w.takeFailed()
	if len(todo) == 0 {
		return nil
	}
	var n int
	err := w.storeAll(ctx, todo, func(failed []seedPut) {
		n = len(failed)
		w.failed = append(failed, w.failed...)
	})
	if err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrClosed) {
		return fmt.Errorf("%d records of an earlier append are still not stored: %w", n, err)
	}
	return err
}

func (w *seedWriter) takeFailed() []seedPut {
	w.mu.Lock()
	defer w.mu.Unlock()
	todo := w.failed
	w.failed = nil
	return todo
}

// close waits for the stores of Appends that stopped waiting, then makes a
// last attempt at what failed. Store.Close calls it once closed is set.
func (w *seedWriter) close() error {
	w.puts.Wait()
	todo := w.takeFailed()
	if len(todo) == 0 {
		return nil
	}
	failed, err := w.putAll(todo)
	if err != nil {
		return fmt.Errorf("close: %d records could not be stored: %w", len(failed), err)
	}
	return nil
}

// seedLine turns an object's body into a line: the body itself when it is
// one line (a trailing newline or other whitespace is cut), else the entry
// re-encoded in the seed's line format.
func seedLine(body []byte) ([]byte, error) {
	b := bytes.TrimSpace(body)
	if !bytes.ContainsAny(b, "\r\n") {
		return b, nil
	}
	var c bytes.Buffer
	if err := json.Compact(&c, b); err != nil {
		return nil, err
	}
	var e line.Entry
	if err := line.Decode(c.Bytes(), &e); err != nil {
		return nil, err
	}
	return line.Append(nil, &e)
}

// seedObj is an entry object read back.
type seedObj struct {
	rel    string
	writer string
	order  string
	it     item
}

// fetchSeed reads one seed object.
func (s *Store) fetchSeed(ctx context.Context, rel string) (seedObj, error) {
	body, out, err := s.get(ctx, rel, "")
	if err != nil {
		return seedObj{}, err
	}
	o := seedObj{rel: rel, writer: out.Metadata[metaWriter], order: out.Metadata[metaOrder]}
	path := s.full(rel)
	b, err := seedLine(body)
	if err == nil {
		var id string
		var ts time.Time
		if id, ts, err = line.Peek(b); err == nil {
			o.it = item{rec: store.Record{ID: id, Time: ts, Line: b, Path: path}}
			return o, nil
		}
	}
	o.it = item{err: &store.CorruptionError{Path: path, Offset: 0, Err: err}}
	return o, nil
}

// seedDays returns the date folders within [from, to], ascending.
func (s *Store) seedDays(ctx context.Context, from, to day) ([]day, error) {
	names, err := s.dirs(ctx, "")
	if err != nil {
		return nil, err
	}
	var out []day
	for _, n := range names {
		if d, ok := parseSeedDay(n); ok && d >= from && d <= to {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out, nil
}

// seedKeys lists the entry objects of a day.
func (s *Store) seedKeys(ctx context.Context, d day) ([]string, error) {
	var keys []string
	err := s.list(ctx, d.seedPrefix(), func(o object) error {
		if name, ok := strings.CutPrefix(o.rel, d.seedPrefix()); ok && strings.HasSuffix(name, seedExt) && !strings.Contains(name, "/") {
			keys = append(keys, o.rel)
		}
		return nil
	})
	return keys, err
}

// fetchSeeds reads the objects, ReadConcurrency at once.
func (s *Store) fetchSeeds(ctx context.Context, keys []string) ([]seedObj, error) {
	objs := make([]seedObj, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, s.readConcurrency())
	var wg sync.WaitGroup
	for i, k := range keys {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return nil, ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			objs[i], errs[i] = s.fetchSeed(ctx, k)
		})
	}
	wg.Wait()
	out := objs[:0]
	for i, err := range errs {
		switch {
		case errors.Is(err, store.ErrNotFound): // deleted since listed
		case err != nil:
			return nil, err
		default:
			out = append(out, objs[i])
		}
	}
	return out, nil
}

// getSeed implements Get for the seed layout: a version-7 id's object is
// fetched from its day directly; any other id is looked for in every
// date folder, fetching up to ReadConcurrency candidates at once.
func (s *Store) getSeed(ctx context.Context, id string) (store.Record, error) {
	if err := s.seed.redoIfAny(ctx); err != nil {
		return store.Record{}, fmt.Errorf("get %s: %w", id, err)
	}
	if !seedKeyOK(id) {
		return store.Record{}, fmt.Errorf("get %s: %w", id, store.ErrNotFound)
	}
	tried := day(-1)
	if ms, ok := idTime(id); ok && plausible(ms) {
		tried = dayOfMicro(ms * 1000)
		o, err := s.fetchSeed(ctx, tried.seedPrefix()+id+seedExt)
		if err == nil {
			return o.it.rec, o.it.err
		}
		if !errors.Is(err, store.ErrNotFound) {
			return store.Record{}, fmt.Errorf("get %s: %w", id, err)
		}
	}
	days, err := s.seedDays(ctx, minDay, maxDay)
	if err != nil {
		return store.Record{}, fmt.Errorf("get %s: %w", id, err)
	}
	var keys []string
	for _, d := range slices.Backward(days) {
		if d != tried {
			keys = append(keys, d.seedPrefix()+id+seedExt)
		}
	}
	objs, err := s.fetchSeeds(ctx, keys)
	if err != nil {
		return store.Record{}, fmt.Errorf("get %s: %w", id, err)
	}
	if len(objs) == 0 {
		return store.Record{}, fmt.Errorf("get %s: %w", id, store.ErrNotFound)
	}
	return objs[0].it.rec, objs[0].it.err
}

func (w *seedWriter) redoIfAny(ctx context.Context) error {
	if w == nil {
		return nil
	}
	return w.redo(ctx)
}

// orderSeed sorts a day's objects for a scan: each writer's in its write
// order, the writers (and the objects without order, such as the Python
// library's, sorted by time) merged by time.
func orderSeed(objs []seedObj) []item {
	byWriter := map[string][]seedObj{}
	for _, o := range objs {
		w := o.writer
		if o.order == "" {
			w = ""
		}
		byWriter[w] = append(byWriter[w], o)
	}
	var streams []*segStream
	for w, os := range byWriter {
		if w == "" {
			slices.SortFunc(os, func(a, b seedObj) int {
				if c := a.it.rec.Time.Compare(b.it.rec.Time); c != 0 {
					return c
				}
				return cmp.Compare(a.rel, b.rel)
			})
		} else {
			slices.SortFunc(os, func(a, b seedObj) int { return cmp.Compare(a.order, b.order) })
		}
		items := make([]item, len(os))
		for i, o := range os {
			items[i] = o.it
		}
		f := &future{done: make(chan struct{}), items: items}
		close(f.done)
		st := &segStream{writer: w, futs: make(chan *future, 1)}
		st.futs <- f
		close(st.futs)
		streams = append(streams, st)
	}
	slices.SortFunc(streams, func(a, b *segStream) int { return cmp.Compare(a.writer, b.writer) })
	var out []item
	mergeStreams(context.Background(), streams, func(r store.Record, err error) bool {
		out = append(out, item{rec: r, err: err})
		return true
	})
	return out
}

// scanSeed implements Scan for the seed layout: only the date folders
// within q's bounds (every day of a month, the 29th to the 31st too), each
// day's objects fetched concurrently and ordered by orderSeed. A day's
// objects are held in memory while it is yielded.
func (s *Store) scanSeed(ctx context.Context, q store.Query, yield func(store.Record, error) bool) {
	from, to := queryDays(q)
	days, err := s.seedDays(ctx, from, to)
	if err != nil {
		yield(store.Record{}, fmt.Errorf("scan: %w", err))
		return
	}
	for _, d := range days {
		keys, err := s.seedKeys(ctx, d)
		if err != nil {
			yield(store.Record{}, fmt.Errorf("scan: %w", err))
			return
		}
		objs, err := s.fetchSeeds(ctx, keys)
		if err != nil {
			yield(store.Record{}, fmt.Errorf("scan: %w", err))
			return
		}
		for _, it := range orderSeed(objs) {
			if it.err == nil && !q.Contains(it.rec.Time) {
				continue
			}
			if !yield(it.rec, it.err) {
				return
			}
		}
	}
}

// countSeed implements Count for the seed layout: the entry objects of
// every date folder, from one listing.
func (s *Store) countSeed(ctx context.Context) (int64, error) {
	var n int64
	err := s.list(ctx, "", func(o object) error {
		dir, name, ok := strings.Cut(o.rel, "/")
		if _, isDay := parseSeedDay(dir); ok && isDay && strings.HasSuffix(name, seedExt) && !strings.Contains(name, "/") {
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("count: %w", err)
	}
	return n, nil
}
