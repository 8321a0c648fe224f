package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/complyhq/comply/store"
)

// sideDir holds everything that is not a seed file: the writer lock, index
// sidecars, torn tails cut on repair and temporary files. The Python
// library reads only audit_*.jsonl and never looks inside.
const sideDir = ".comply"

// Store is a file store over one directory. See the package documentation.
type Store struct {
	dir  string
	opts Options
	lock *os.File // the writer lock; nil for a read-only store

	mu       sync.RWMutex
	segs     []*segment // sorted by day, then seq
	byName   map[string]*segment
	tails    map[int32]*segment // the writer's open segment of each day
	closed   bool
	failed   error // sticky: a write or fsync failed and the state is unknown
	writeSeq uint64
	retired  []*os.File // append handles of retired segments, closed after the next sync
	wbuf     []byte
	observer func([]store.Record)
	scratch  []store.Record

	// The write queue: concurrent Appends line up, and one of them writes
	// for all (see Append).
	qmu     sync.Mutex
	qcond   sync.Cond
	queue   []*request
	leading bool

	syncMu sync.Mutex
	synced uint64

	stop chan struct{}
	done sync.WaitGroup
}

var _ store.Store = (*Store)(nil)

// Open opens the file store in dir. A writer (the default) creates dir if
// missing, takes the directory's writer lock (a second writer gets a
// *LockedError), cuts a torn final line left by a crash (keeping a copy of
// the cut bytes in .comply/torn/) and builds missing or stale indexes. A
// read-only store needs dir to exist and takes no lock. On a system other
// than Linux, macOS or a BSD (Windows) it fails at once with an
// *UnsupportedError.
func Open(ctx context.Context, dir string, opts *Options) (*Store, error) {
	if err := checkPlatform(); err != nil {
		return nil, err
	}
	s := &Store{
		dir:    dir,
		opts:   opts.withDefaults(),
		byName: make(map[string]*segment),
		tails:  make(map[int32]*segment),
		stop:   make(chan struct{}),
	}
	s.qcond.L = &s.qmu
	if s.opts.ReadOnly {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("open store: %s is not a directory", dir)
		}
	} else {
		for _, d := range []string{dir, filepath.Join(dir, sideDir, "index"), filepath.Join(dir, sideDir, "torn"), filepath.Join(dir, sideDir, "tmp")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				return nil, fmt.Errorf("open store: %w", err)
			}
		}
		lock, err := lockDir(dir, filepath.Join(dir, sideDir, "LOCK"))
		if err != nil {
			return nil, err
		}
		s.lock = lock
	}
	if err := s.open(ctx); err != nil {
		s.closeAll()
		return nil, err
	}
	if !s.opts.ReadOnly && s.opts.Durability == Interval {
		s.done.Add(1)
		go s.syncLoop()
	}
	return s, nil
}

func (s *Store) open(ctx context.Context) error {
	if !s.opts.ReadOnly {
		if err := s.clearTmp(); err != nil {
			return err
		}
		if err := s.repairAll(); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.refresh(ctx); err != nil {
		return err
	}
	if s.opts.ReadOnly {
		return nil
	}
	for _, g := range s.segs {
		if err := s.seal(g); err != nil {
			return err
		}
	}
	return s.removeOrphanIndexes()
}

// refresh brings the list of segments up to date with the directory: new
// files, files grown by another writer, files replaced or removed. The
// caller holds s.mu.
func (s *Store) refresh(ctx context.Context) error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", s.dir, err)
	}
	seen := make(map[string]bool, len(ents))
	for _, de := range ents {
		day, seq, ok := parseSegName(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		name := de.Name()
		seen[name] = true
		g := s.byName[name]
		if g != nil {
			if g.w != nil {
				continue // our own open segment: we know it
			}
			fi, err := os.Stat(filepath.Join(s.dir, name))
			if err != nil {
				if errors.Is(err, os.ErrNotExist) {
					delete(seen, name)
					continue
				}
				return err
			}
			if inode(fi) == g.ino {
				if err := s.readTail(g, fi.Size()); err != nil {
					return err
				}
				continue
			}
			s.drop(g) // replaced: learn it again
		}
		g, err := s.openSegment(name, day, seq)
		if errors.Is(err, os.ErrNotExist) {
			delete(seen, name)
			continue
		}
		if err != nil {
			return fmt.Errorf("open %s: %w", name, err)
		}
		s.add(g)
	}
	for _, g := range slices.Clone(s.segs) {
		if !seen[g.name] && g.w == nil {
			s.drop(g)
		}
	}
	return nil
}

func (s *Store) add(g *segment) {
	i, _ := slices.BinarySearchFunc(s.segs, g, cmpSeg)
	s.segs = slices.Insert(s.segs, i, g)
	s.byName[g.name] = g
}

func (s *Store) drop(g *segment) {
	if i, ok := slices.BinarySearchFunc(s.segs, g, cmpSeg); ok {
		s.segs = slices.Delete(s.segs, i, i+1)
	}
	delete(s.byName, g.name)
	if s.tails[g.day] == g {
		delete(s.tails, g.day)
	}
	g.close()
}

func cmpSeg(a, b *segment) int {
	if a.day != b.day {
		return int(a.day - b.day)
	}
	return a.seq - b.seq
}

// Append implements store.Store. See Durability for when it returns.
func (s *Store) Append(ctx context.Context, recs ...store.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.opts.ReadOnly {
		return store.ErrReadOnly
	}
	for i := range recs {
		if err := recs[i].Check(s.opts.MaxLineSize); err != nil {
			return err
		}
	}
	r := &request{recs: recs}
	s.qmu.Lock()
	s.queue = append(s.queue, r)
	for s.leading && !r.done {
		s.qcond.Wait()
	}
	if !r.done {
		// Lead: write what every waiting Append brought, with one write
		// call per file, while new ones queue up behind.
		s.leading = true
		group := s.queue
		s.queue = nil
		s.qmu.Unlock()
		seq, err := s.writeGroup(group)
		s.qmu.Lock()
		for _, g := range group {
			g.seq, g.err, g.done = seq, err, true
		}
		s.leading = false
		s.qcond.Broadcast()
	}
	s.qmu.Unlock()
	if r.err != nil {
		return r.err
	}
	if s.opts.Durability == Always {
		return s.syncTo(r.seq)
	}
	return nil
}

// A request is one Append in the write queue.
type request struct {
	recs []store.Record
	seq  uint64 // the write that carried it
	err  error
	done bool
}

// writeGroup writes the records of a group of requests in queue order and
// returns the write sequence number that covers them.
func (s *Store) writeGroup(group []*request) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	if s.failed != nil {
		return 0, fmt.Errorf("append: store failed earlier: %w", s.failed)
	}
	recs := group[0].recs
	if len(group) > 1 {
		for _, r := range group {
			s.scratch = append(s.scratch, r.recs...)
		}
		recs = s.scratch
		defer func() { clear(s.scratch); s.scratch = s.scratch[:0] }()
	}
	err := s.write(recs)
	return s.writeSeq, err
}

// write appends recs to their days' segments, rotating as they fill. The
// caller holds s.mu.
func (s *Store) write(recs []store.Record) error {
	defer func() {
		if cap(s.wbuf) > 4<<20 {
			s.wbuf = nil
		}
	}()
	for i := 0; i < len(recs); {
		day := dayOf(recs[i].Time)
		g, err := s.tail(day)
		if err != nil {
			return err
		}
		buf, start, j := s.wbuf[:0], g.size, i
		for ; j < len(recs) && dayOf(recs[j].Time) == day; j++ {
			size := start + int64(len(buf))
			if size > 0 && size+int64(len(recs[j].Line))+1 > s.opts.RotationSize {
				break
			}
			buf = append(append(buf, recs[j].Line...), '\n')
		}
		s.wbuf = buf
		if len(buf) > 0 {
			if err := s.writeSeg(g, buf); err != nil {
				return err
			}
			off := start
			for _, r := range recs[i:j] {
				g.addTail(keyOf(r.ID), off, r.Time.UnixMicro())
				off += int64(len(r.Line)) + 1
			}
			g.size = off
			s.writeSeq++
			if s.observer != nil {
				s.observer(recs[i:j])
			}
		}
		if j < len(recs) && dayOf(recs[j].Time) == day {
			if err := s.rotate(g); err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}

// writeSeg appends whole lines to g. On a failed or short write (a full
// disk) it cuts the file back to its last whole line, so that readers never
// see a partial one, and returns the error.
func (s *Store) writeSeg(g *segment, buf []byte) error {
	if _, err := g.w.Write(buf); err != nil {
		if terr := g.w.Truncate(g.size); terr != nil {
			s.failed = fmt.Errorf("cut %s back after a failed write: %w", g.name, terr)
		}
		return fmt.Errorf("append %s: %w", g.name, err)
	}
	g.dirty = true
	return nil
}

// tail returns the writer's open segment for day, opening the day's last
// file or creating the first. Opening a newer day retires older days'
// segments. The caller holds s.mu.
func (s *Store) tail(day int32) (*segment, error) {
	if g := s.tails[day]; g != nil {
		return g, nil
	}
	for d, g := range s.tails {
		if d < day {
			if err := s.retire(g); err != nil {
				return nil, err
			}
		}
	}
	var last *segment
	for _, g := range s.segs {
		if g.day == day {
			last = g
		}
	}
	if last == nil {
		return s.create(day, 0)
	}
	if last.size >= s.opts.RotationSize {
		return s.create(day, last.seq+1)
	}
	w, err := os.OpenFile(s.segPath(last), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", last.name, err)
	}
	last.w = w
	s.tails[day] = last
	return last, nil
}

// create starts segment seq of day, durably: the file, then its directory
// entry.
func (s *Store) create(day int32, seq int) (*segment, error) {
	for {
		name := segName(day, seq)
		path := filepath.Join(s.dir, name)
		w, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if errors.Is(err, os.ErrExist) {
			seq++ // a file we could not read as a segment: leave it be
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		rf, err := os.Open(path)
		if err != nil {
			w.Close()
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		if err := syncDir(s.dir); err != nil {
			w.Close()
			rf.Close()
			return nil, err
		}
		fi, err := rf.Stat()
		if err != nil {
			w.Close()
			rf.Close()
			return nil, err
		}
		g := &segment{name: name, day: day, seq: seq, ino: inode(fi), rf: rf, w: w}
		s.add(g)
		s.tails[day] = g
		return g, nil
	}
}

// rotate retires g, which is full, and starts the day's next segment.
func (s *Store) rotate(g *segment) error {
	if err := s.retire(g); err != nil {
		return err
	}
	_, err := s.create(g.day, g.seq+1)
	return err
}

// retire makes g durable, seals its index and stops appending to it. Its
// append handle is closed after the next sync, which may be using it.
func (s *Store) retire(g *segment) error {
	delete(s.tails, g.day)
	if g.dirty {
		if err := g.w.Sync(); err != nil {
			s.failed = fmt.Errorf("fsync %s: %w", g.name, err)
			return s.failed
		}
		g.dirty = false
	}
	s.retired = append(s.retired, g.w)
	g.w = nil
	return s.seal(g)
}

// syncTo returns once every write up to seq is fsynced. One caller syncs
// for all who are waiting (group commit): while it waits for the disk, the
// others write, and the next sync covers them all.
func (s *Store) syncTo(seq uint64) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if s.synced >= seq {
		return nil
	}
	s.mu.Lock()
	if s.failed != nil {
		err := s.failed
		s.mu.Unlock()
		return err
	}
	target := s.writeSeq
	var files []*os.File
	for _, g := range s.tails {
		if g.dirty {
			files = append(files, g.w)
			g.dirty = false
		}
	}
	retired := s.retired
	s.retired = nil
	s.mu.Unlock()

	var err error
	for _, f := range files {
		if e := f.Sync(); e != nil && err == nil {
			err = fmt.Errorf("fsync %s: %w", filepath.Base(f.Name()), e)
		}
	}
	for _, f := range retired {
		f.Close()
	}
	if err != nil {
		s.mu.Lock()
		s.failed = err
		s.mu.Unlock()
		return err
	}
	s.synced = target
	return nil
}

func (s *Store) syncLoop() {
	defer s.done.Done()
	t := time.NewTicker(s.opts.SyncInterval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.RLock()
			seq := s.writeSeq
			s.mu.RUnlock()
			s.syncTo(seq) // a failure is sticky and reported by the next Append
		}
	}
}

// Close implements store.Store: it fsyncs whatever a weaker durability mode
// left unsynced, seals the open segments' indexes and releases the lock.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	seq := s.writeSeq
	s.mu.Unlock()
	close(s.stop)
	s.done.Wait()
	var errs []error
	if s.lock != nil {
		errs = append(errs, s.syncTo(seq))
	}
	s.mu.Lock()
	for _, g := range s.tails {
		errs = append(errs, s.retire(g))
	}
	s.mu.Unlock()
	s.closeAll()
	return errors.Join(errs...)
}

func (s *Store) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range s.retired {
		f.Close()
	}
	s.retired = nil
	for _, g := range s.segs {
		g.close()
	}
	s.segs, s.byName, s.tails = nil, nil, nil
	if s.lock != nil {
		s.lock.Close() // releases the flock
		s.lock = nil
	}
}

// syncDir fsyncs a directory, making the creation, removal or renaming of
// its entries durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// Sync makes every write so far durable, whatever the durability mode. The
// integrity ledger calls it before each checkpoint, so that a checkpoint
// never outlives the lines it signs.
func (s *Store) Sync(ctx context.Context) error {
	if s.opts.ReadOnly {
		return store.ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	seq := s.writeSeq
	s.mu.RUnlock()
	return s.syncTo(seq)
}
