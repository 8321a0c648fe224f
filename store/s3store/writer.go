package s3store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/complyhq/comply/store"
)

// Writing the segments layout.
//
// Append places records into the open buffer of their UTC day (one per
// day) and calls the observer, under s.mu. A buffer is sealed into the
// upload queue when it reaches flush_bytes, when it is flush_ms old
// (durability interval), when a read or Close needs it, or, with
// durability always, as soon as the uploader has room: while one PUT is
// in flight the next callers' records gather in the buffer, and the next
// PUT carries them all (group commit). One goroutine, run, seals buffers,
// numbers the segments in seal order and starts their PUTs.
//
// A failed PUT fails the Appends waiting for it; the segment (same name,
// same bytes) goes back to the front of the queue and is retried with
// backoff, so that what the observer saw is eventually stored, in order.

const (
	// maxInflight bounds the concurrent segment PUTs of one writer.
	maxInflight = 4
	// groupInflight is how many PUTs may be in flight before the
	// buffer of an always-durability store waits for one to finish:
	// the gathering that makes group commit.
	groupInflight = 1
	putTimeout    = 2 * time.Minute
	maxBackoff    = 30 * time.Second
	closeAttempts = 3
)

// An attempt is one try at storing a segment; waiters keep the attempt
// they joined, whose err is set before done is closed.
type attempt struct {
	done chan struct{}
	err  error
}

// A pseg is a segment not yet stored: open (taking records), queued or
// in flight.
type pseg struct {
	day      day
	recs     []segRec
	size     int64
	born     time.Time
	force    bool // seal at the next turn (a read or Close waits)
	cur      *attempt
	named    bool    // name assigned (seq taken)
	name     segName // valid once named
	body     []byte  // encoded, kept for retries
	sum      string
	attempts int
	retryAt  time.Time
}

type segWriter struct {
	s *Store

	// Guarded by s.mu.
	open     map[day]*pseg
	queue    []*pseg // sealed, not in flight, in seal order
	all      map[*pseg]bool
	inflight int
	pending  int64 // record bytes not yet stored
	runID    string
	nextSeq  map[day]uint64
	closing  bool
	lastErr  error
	lost     int64 // records given up on at Close

	kick chan struct{}
	done chan struct{}
}

func newSegWriter(s *Store) *segWriter {
	w := &segWriter{
		s:       s,
		open:    map[day]*pseg{},
		all:     map[*pseg]bool{},
		runID:   newRun(),
		nextSeq: map[day]uint64{},
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	go w.run()
	return w
}

func (w *segWriter) maxPending() int64 {
	if w.s.opts.MaxPending > 0 {
		return w.s.opts.MaxPending
	}
	return max(64<<20, 8*w.s.cfg.flushBytes)
}

func (w *segWriter) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

func (w *segWriter) append(ctx context.Context, recs []store.Record) error {
	s := w.s
	total := 0
	for i := range recs {
		total += len(recs[i].Line)
	}
	buf := make([]byte, 0, total)
	own := make([]segRec, len(recs))
	for i, r := range recs {
		start := len(buf)
		buf = append(buf, r.Line...)
		own[i] = segRec{id: r.ID, t: r.Time.UnixMicro(), line: buf[start:len(buf):len(buf)]}
	}
	size := int64(total + len(recs))

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return store.ErrClosed
	}
	if w.pending > 0 && w.pending+size > w.maxPending() {
		err := w.lastErr
		pending := w.pending
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("append: %d bytes await upload (last error: %w)", pending, err)
		}
		return fmt.Errorf("append: %d bytes await upload; the bucket is not keeping up", pending)
	}
	var waits []*attempt
	now := time.Now()
	for _, r := range own {
		d := dayOfMicro(r.t)
		p := w.open[d]
		if p == nil {
			p = &pseg{day: d, born: now, cur: &attempt{done: make(chan struct{})}}
			w.open[d] = p
			w.all[p] = true
		}
		p.recs = append(p.recs, r)
		p.size += int64(len(r.line)) + 1
		if len(waits) == 0 || waits[len(waits)-1] != p.cur {
			waits = append(waits, p.cur)
		}
		if p.size >= s.cfg.flushBytes {
			w.seal(p)
		}
	}
	w.pending += size
	if s.observer != nil {
		s.observer(recs)
	}
	s.mu.Unlock()
	w.wake()

	if s.cfg.durability != Always {
		return nil
	}
	for i, a := range waits {
		if i > 0 && a == waits[i-1] {
			continue
		}
		select {
		case <-a.done:
			if a.err != nil {
				return fmt.Errorf("append: %w", a.err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// seal moves an open buffer to the upload queue. The caller holds s.mu.
func (w *segWriter) seal(p *pseg) {
	if w.open[p.day] == p {
		delete(w.open, p.day)
	}
	w.queue = append(w.queue, p)
}

// sealDue seals the buffers whose turn has come and returns when the next
// one will be due (zero if none). The caller holds s.mu.
func (w *segWriter) sealDue(now time.Time) time.Time {
	var due []*pseg
	var next time.Time
	busy := w.inflight // uploads in flight or ready to start; not those waiting to retry
	for _, p := range w.queue {
		if !now.Before(p.retryAt) {
			busy++
		}
	}
	for _, p := range w.open {
		switch {
		case w.closing || p.force || p.size >= w.s.cfg.flushBytes:
		case w.s.cfg.durability == Always && busy < groupInflight:
		case w.s.cfg.durability == Interval:
			at := p.born.Add(w.s.cfg.flushEvery)
			if now.Before(at) {
				if next.IsZero() || at.Before(next) {
					next = at
				}
				continue
			}
		default:
			continue
		}
		due = append(due, p)
	}
	slices.SortFunc(due, func(a, b *pseg) int { return int(a.day - b.day) })
	for _, p := range due {
		w.seal(p)
	}
	return next
}

func (w *segWriter) run() {
	defer close(w.done)
	s := w.s
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		s.mu.Lock()
		now := time.Now()
		next := w.sealDue(now)
		var starts []*pseg
		for i := 0; i < len(w.queue) && w.inflight < maxInflight; {
			p := w.queue[i]
			if now.Before(p.retryAt) {
				if next.IsZero() || p.retryAt.Before(next) {
					next = p.retryAt
				}
				i++
				continue
			}
			w.queue = slices.Delete(w.queue, i, i+1)
			w.inflight++
			starts = append(starts, p)
		}
		exit := w.closing && len(w.open) == 0 && len(w.queue) == 0 && w.inflight == 0
		s.mu.Unlock()
		if exit {
			return
		}
		for _, p := range starts {
			w.name(p)
			go w.put(p)
		}
		if !next.IsZero() {
			timer.Reset(max(time.Until(next), time.Millisecond))
		}
		select {
		case <-w.kick:
		case <-timer.C:
		}
	}
}

// name gives p its name: the run's next sequence number for p's day.
func (w *segWriter) name(p *pseg) {
	if p.named {
		return
	}
	s := w.s
	s.mu.Lock()
	defer s.mu.Unlock()
	seq := max(w.nextSeq[p.day], 1)
	w.nextSeq[p.day] = seq + 1
	n := segName{day: p.day, writer: s.writer, run: w.runID, seq: seq, count: int64(len(p.recs)), minT: p.recs[0].t, maxT: p.recs[0].t}
	for _, r := range p.recs {
		n.minT = min(n.minT, r.t)
		n.maxT = max(n.maxT, r.t)
	}
	p.name, p.named = n, true
}

func (w *segWriter) put(p *pseg) {
	s := w.s
	if p.body == nil {
		p.body, _ = encodeSegment(p.recs)
		p.sum = sum(p.body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), putTimeout)
	defer cancel()
	if on := s.opts.OnSync; on != nil {
		start := time.Now()
		defer func() { on(time.Since(start)) }()
	}
	// The journal bytes appended so far (the intents of p's records among
	// them) are stored first: a segment is never stored without the
	// intents of its records, so a writer that crashes between the two
	// PUTs leaves intents without lines (taken as never written), never
	// lines without intents (which a restarted writer would refuse).
	if err := s.waitParts(ctx, s.cutParts("")); err != nil {
		w.finish(p, fmt.Errorf("storing the journal before %s: %w", p.name.key(), err))
		return
	}
	var err error
	for range 5 {
		err = s.put(ctx, p.name.key(), p.body, "application/gzip", map[string]string{metaSum: p.sum}, true)
		if !errors.Is(err, errExists) {
			break
		}
		// Taken: by an earlier attempt of ours whose reply was lost, or,
		// against all odds, by another process with our writer name and
		// run id. Never overwrite: take the next number.
		h, herr := s.head(ctx, p.name.key(), "")
		if herr == nil && h.Metadata[metaSum] == p.sum {
			err = nil
			break
		}
		s.mu.Lock()
		p.name.seq = w.nextSeq[p.day]
		w.nextSeq[p.day]++
		s.mu.Unlock()
	}
	w.finish(p, err)
}

// finish records the outcome of one attempt at storing p.
func (w *segWriter) finish(p *pseg, err error) {
	s := w.s
	s.mu.Lock()
	w.inflight--
	a := p.cur
	a.err = err
	if err == nil {
		delete(w.all, p)
		w.pending -= p.size
		s.cnt.segments.Add(1)
		s.cnt.entries.Add(int64(len(p.recs)))
		s.cache.stored(p.name, int64(len(p.body)))
		p.recs, p.body = nil, nil
	} else {
		w.lastErr = err
		p.attempts++
		if w.closing && p.attempts >= closeAttempts {
			delete(w.all, p)
			w.pending -= p.size
			w.lost += int64(len(p.recs))
		} else {
			p.cur = &attempt{done: make(chan struct{})}
			p.retryAt = time.Now().Add(min(maxBackoff, 100*time.Millisecond<<min(p.attempts, 10)))
			w.queue = append([]*pseg{p}, w.queue...)
		}
	}
	s.mu.Unlock()
	close(a.done)
	w.wake()
}

// flush stores everything appended so far and waits for it: reads of the
// writing process see its own writes.
func (w *segWriter) flush(ctx context.Context) error {
	s := w.s
	s.mu.Lock()
	var waits []*attempt
	now := time.Now()
	for p := range w.all {
		p.force = true
		if p.retryAt.After(now) {
			p.retryAt = now
		}
		waits = append(waits, p.cur)
	}
	s.mu.Unlock()
	if len(waits) == 0 {
		return nil
	}
	w.wake()
	for _, a := range waits {
		select {
		case <-a.done:
			if a.err != nil {
				return fmt.Errorf("storing buffered records: %w", a.err)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (w *segWriter) close() error {
	s := w.s
	s.mu.Lock()
	w.closing = true
	s.mu.Unlock()
	w.wake()
	<-w.done
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.lost > 0 {
		return fmt.Errorf("close: %d records could not be stored: %w", w.lost, w.lastErr)
	}
	return nil
}

// pendingRecord returns a record this writer holds but has not stored.
func (w *segWriter) pendingRecord(id string) (store.Record, bool) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	for p := range w.all {
		for _, r := range p.recs {
			if r.id == id {
				return store.Record{ID: r.id, Time: time.UnixMicro(r.t).UTC(), Line: append([]byte(nil), r.line...)}, true
			}
		}
	}
	return store.Record{}, false
}
