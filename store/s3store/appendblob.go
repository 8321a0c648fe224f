package s3store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/complyhq/comply/store"
)

// Append-only blobs (store.Appender), where the integrity ledger keeps
// its journal. S3 has no append, so an append-only blob is a series of
// objects, its parts:
//
//	_comply/parts/<blob name>/<part seq, 12 digits from 000000000000>
//
// AppendBlob only buffers the bytes in memory. The buffered bytes of every
// append-only blob become a new part, stored with a conditional PUT
// (If-None-Match: *, so a part never overwrites another), whenever the
// writer stores a segment (or the objects of a seed Append), in parallel
// with it; and the Appends that the segment acknowledges wait for both,
// and for every part cut before. So the journal is exactly as durable as
// the records: what an acknowledged Append's records need is stored before
// it returns (Always), or with them (Interval, None). SyncBlob and Close
// store the buffer too.
//
// ReadBlob and ListBlobs present an append-only blob as one blob, the
// concatenation of its parts in order, up to the first missing part: a
// part after a gap was cut after one that was never stored, so no
// acknowledged Append relied on it. RemoveBlob deletes every part (in a
// versioned bucket, behind delete markers, which Object Lock allows; the
// locked versions stay until their retention ends). A name is either
// written (WriteBlob) or appended to, not both.

const (
	partDir   = "_comply/parts/"
	partWidth = 12
	partType  = "application/octet-stream"
)

// appends is the writer's append-only blobs. mu guards every field and
// every field of the ablobs and aparts; it is never held with s.mu, nor
// during I/O.
type appends struct {
	mu    sync.Mutex
	blobs map[string]*ablob
}

// An ablob is one append-only blob as this writer has it.
type ablob struct {
	name  string
	buf   []byte   // appended, not yet cut into a part
	next  uint64   // the next part's sequence number
	parts []*apart // cut, not yet stored, in order
}

// An apart is a part cut but not yet known to be stored.
type apart struct {
	rel    string
	body   []byte
	sum    string
	cur    *attempt // the attempt in flight, or the last one
	flying bool
}

var _ store.Appender = (*Store)(nil)

func partRel(name string, seq uint64) string {
	return fmt.Sprintf("%s%s/%0*d", partDir, name, partWidth, seq)
}

// parsePartRel splits a key relative to the prefix into a blob name and a
// part sequence number.
func parsePartRel(rel string) (name string, seq uint64, ok bool) {
	rest, ok := strings.CutPrefix(rel, partDir)
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 || len(rest)-i-1 != partWidth {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(rest[i+1:], 10, 64)
	if err != nil || store.CheckBlobName(rest[:i]) != nil {
		return "", 0, false
	}
	return rest[:i], seq, true
}

// AppendBlob implements store.Appender: it buffers data, which is stored
// with the writer's next segment PUT, SyncBlob or Close (see above). Unlike
// the file store's, an append that returned does not survive a crash of
// the process until then; neither do the records it describes.
func (s *Store) AppendBlob(ctx context.Context, name string, data []byte) error {
	if err := s.checkWrite(ctx, name); err != nil {
		return err
	}
	a := &s.ap
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.blobs == nil {
		a.blobs = map[string]*ablob{}
	}
	b := a.blobs[name]
	if b == nil {
		b = &ablob{name: name}
		a.blobs[name] = b
	}
	b.buf = append(b.buf, data...)
	return nil
}

// SyncBlob implements store.Appender: it stores what was appended to the
// named blob as a part, and waits for it and the parts before it.
func (s *Store) SyncBlob(ctx context.Context, name string) error {
	if err := s.checkWrite(ctx, name); err != nil {
		return err
	}
	if err := s.waitParts(ctx, s.cutParts(name)); err != nil {
		return fmt.Errorf("sync blob %s: %w", name, err)
	}
	return nil
}

// RemoveBlob implements store.Appender: it waits for the parts in flight,
// then deletes every part of the blob.
func (s *Store) RemoveBlob(ctx context.Context, name string) error {
	if err := s.checkWrite(ctx, name); err != nil {
		return err
	}
	a := &s.ap
	a.mu.Lock()
	var waits []*attempt
	if b := a.blobs[name]; b != nil {
		for _, p := range b.parts {
			if p.flying {
				waits = append(waits, p.cur)
			}
		}
		delete(a.blobs, name)
	}
	a.mu.Unlock()
	for _, w := range waits {
		select {
		case <-w.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	var vs []version
	err := s.list(ctx, partDir+name+"/", func(o object) error {
		if n, _, ok := parsePartRel(o.rel); ok && n == name {
			vs = append(vs, version{rel: o.rel})
		}
		return nil
	})
	if err == nil {
		// Without version ids: in a versioned (locked) bucket this adds
		// delete markers, which no lock refuses.
		_, err = s.deleteVersions(ctx, vs)
	}
	if err != nil {
		return fmt.Errorf("remove blob %s: %w", name, err)
	}
	return nil
}

// Durability implements store.Appender: the URL's durability (always in
// the seed layout).
func (s *Store) Durability() store.Durability { return s.cfg.durability }

// cutParts cuts the buffered bytes of the named blob (of every blob, if
// name is "") into a new part, starts storing every part not yet stored
// that is not in flight, and returns the attempts to wait for: those of
// every part of those blobs cut so far and not yet stored.
func (s *Store) cutParts(name string) []*attempt {
	a := &s.ap
	a.mu.Lock()
	defer a.mu.Unlock()
	var waits []*attempt
	cut := func(b *ablob) {
		if len(b.buf) > 0 {
			p := &apart{rel: partRel(b.name, b.next), body: b.buf, sum: sum(b.buf)}
			b.buf, b.next = nil, b.next+1
			b.parts = append(b.parts, p)
		}
		for _, p := range b.parts {
			if !p.flying {
				p.flying, p.cur = true, &attempt{done: make(chan struct{})}
				go s.putPart(b, p)
			}
			waits = append(waits, p.cur)
		}
	}
	if name != "" {
		if b := a.blobs[name]; b != nil {
			cut(b)
		}
		return waits
	}
	for _, b := range a.blobs {
		cut(b)
	}
	return waits
}

// putPart stores one part. A part whose name is taken by an object of
// other content (not an earlier attempt of ours) is an error: the blob can
// only be read up to there.
func (s *Store) putPart(b *ablob, p *apart) {
	ctx, cancel := context.WithTimeout(context.Background(), putTimeout)
	defer cancel()
	err := s.put(ctx, p.rel, p.body, partType, map[string]string{metaSum: p.sum}, true)
	if errors.Is(err, errExists) {
		h, herr := s.head(ctx, p.rel, "")
		if herr == nil && h.Metadata[metaSum] == p.sum {
			err = nil
		} else {
			err = fmt.Errorf("part %s is taken by an object this writer did not write", s.full(p.rel))
		}
	}
	a := &s.ap
	a.mu.Lock()
	p.flying, p.cur.err = false, err
	if err == nil {
		b.parts = slices.DeleteFunc(b.parts, func(q *apart) bool { return q == p })
	}
	done := p.cur.done
	a.mu.Unlock()
	close(done)
}

// waitParts waits for the attempts cutParts returned.
func (s *Store) waitParts(ctx context.Context, waits []*attempt) error {
	for _, w := range waits {
		select {
		case <-w.done:
			if w.err != nil {
				return w.err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// flushParts stores every append-only blob's buffer, for Close: up to
// closeAttempts tries.
func (s *Store) flushParts() error {
	var err error
	for range closeAttempts {
		ctx, cancel := context.WithTimeout(context.Background(), putTimeout)
		err = s.waitParts(ctx, s.cutParts(""))
		cancel()
		if err == nil {
			return nil
		}
	}
	return fmt.Errorf("close: storing the append-only blobs: %w", err)
}

// readParts returns the concatenation of the named blob's parts, from the
// first up to the first missing one, or an error wrapping ErrNotFound if
// it has none.
func (s *Store) readParts(ctx context.Context, name string) ([]byte, error) {
	var seqs []uint64
	err := s.list(ctx, partDir+name+"/", func(o object) error {
		if n, seq, ok := parsePartRel(o.rel); ok && n == name {
			seqs = append(seqs, seq)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(seqs) == 0 {
		return nil, store.ErrNotFound
	}
	slices.Sort(seqs)
	out := []byte{}
	for i, seq := range seqs {
		if seq != uint64(i) {
			break // a gap: see above
		}
		b, _, err := s.get(ctx, partRel(name, seq), "")
		if errors.Is(err, store.ErrNotFound) {
			break
		}
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
	}
	return out, nil
}

// hasAppended reports whether this writer holds bytes of the named blob
// not yet stored.
func (s *Store) hasAppended(name string) bool {
	a := &s.ap
	a.mu.Lock()
	defer a.mu.Unlock()
	b := a.blobs[name]
	return b != nil && (len(b.buf) > 0 || len(b.parts) > 0)
}
