package filestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/complyhq/comply/store"
)

// sideDir holds everything that is not a seed file: the writer lock, index
// sidecars, torn tails cut on repair and temporary files. The Python
// library reads only audit_*.jsonl and never looks inside.
const sideDir = ".comply"

// Store is a file store over one directory. See the package documentation.
//
// # Locks
//
// Three mutexes, each guarding its own fields:
//
//   - mu guards the segment list and everything in it (segs, byName,
//     tails, and each segment's fields), closed, failed, writeSeq,
//     retired, wbuf, observer and scratch. Writers (writeGroup, Delete,
//     Expire, refreshLocked) hold it exclusively; Get, Count and
//     Scan's setup share it. The observer is called with it held.
//   - qmu guards the write queue: queue, draining and each request's taken
//     flag. It is held only to queue, take or withdraw requests.
//   - syncMu guards synced and round. It is held only to read or set them,
//     never across an fsync.
//
// Lock order: no goroutine waits for one of them while holding another.
// drain takes qmu, lets it go, then takes mu in writeGroup; syncRound takes
// mu (fsyncDirty), lets it go, then takes syncMu. The one overlap is
// Append's fast path, which tries mu with TryLock (never waiting) while it
// holds qmu, and lets qmu go before it writes.
// Fields set once in Open (dir, opts, lock until Close) need no lock.
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
	blobTmp  atomic.Uint64 // numbers the temporary files of WriteBlob
	retired  []*os.File    // append handles of retired segments, closed after the next sync
	wbuf     []byte
	observer func([]store.Record)
	scratch  []store.Record

	// The write queue: concurrent Appends line up, and one goroutine,
	// drain, writes for all (see Append).
	qmu      sync.Mutex
	queue    []*request
	draining bool // a drain goroutine is running

	syncMu     sync.Mutex
	synced     uint64     // every write up to this sequence number is fsynced
	blobSynced uint64     // every append to a blob up to this number is fsynced
	round      *syncRound // the fsync in progress, if any

	// bmu guards the append-only blobs (the ledger's journal); it is never
	// held with mu.
	bmu        sync.Mutex
	appends    map[string]*appendFile
	bclosed    bool
	blobSeq    uint64      // appends to blobs so far
	hasAppends atomic.Bool // some blob was appended to: sync rounds look at them

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
	if s.opts.ReadOnly {
		fi, err := os.Stat(dir)
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		if !fi.IsDir() {
			return nil, fmt.Errorf("open store: %s is not a directory", dir)
		}
		if err := s.checkSideDirs(); err != nil {
			return nil, err
		}
	} else {
		// dir itself may be a link an operator made; nothing under it is
		// ever followed.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		if err := s.checkSideDirs(); err != nil {
			return nil, err
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
	if err := s.refreshLocked(ctx); err != nil {
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

// refreshLocked brings the list of segments up to date with the directory: new
// files, files grown by another writer, files replaced or removed. The
// caller holds s.mu.
func (s *Store) refreshLocked(ctx context.Context) error {
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
			fi, err := os.Lstat(filepath.Join(s.dir, name))
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
// An Append that finds the store idle writes at once; concurrent Appends
// line up in a queue, and one goroutine writes what they brought with one
// write call per file (see drain); each Append waits for its turn and, in
// the Always mode, for the fsync that covers it.
// Cancelling ctx abandons either wait: an Append still in the queue is
// withdrawn, one already taken is written but not acknowledged.
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
	r := &request{recs: recs, done: make(chan struct{})}
	s.qmu.Lock()
	// The fast path: nothing queued and s.mu free at once (TryLock never
	// waits): write inline, sparing drain's goroutine.
	inline := !s.draining && s.mu.TryLock()
	if inline {
		s.draining = true // others queue meanwhile
	} else {
		s.queue = append(s.queue, r)
		if !s.draining {
			s.draining = true
			go s.drain()
		}
	}
	s.qmu.Unlock()
	if inline {
		r.seq, r.err = s.writeGroupLocked([]*request{r})
		s.mu.Unlock()
		s.qmu.Lock()
		if len(s.queue) > 0 {
			go s.drain()
		} else {
			s.draining = false
		}
		s.qmu.Unlock()
	} else {
		select {
		case <-r.done:
		case <-ctx.Done():
			s.withdraw(r)
			return ctx.Err()
		}
	}
	if r.err != nil {
		return r.err
	}
	if s.opts.Durability == Always {
		return s.syncTo(ctx, r.seq)
	}
	return nil
}

// A request is one Append in the write queue.
type request struct {
	recs  []store.Record
	taken bool // by drain; guarded by qmu
	// Set before done is closed.
	seq  uint64 // the write that carried it
	err  error
	done chan struct{}
}

// drain writes the queued requests, group after group, until the queue is
// empty. One runs at a time (s.draining).
func (s *Store) drain() {
	s.qmu.Lock()
	for len(s.queue) > 0 {
		group := s.queue
		s.queue = nil
		for _, r := range group {
			r.taken = true
		}
		s.qmu.Unlock()
		seq, err := s.writeGroup(group)
		for _, r := range group {
			r.seq, r.err = seq, err
			close(r.done)
		}
		s.qmu.Lock()
	}
	s.draining = false
	s.qmu.Unlock()
}

// withdraw takes a cancelled request out of the queue if drain has not
// taken it yet.
func (s *Store) withdraw(r *request) {
	s.qmu.Lock()
	defer s.qmu.Unlock()
	if !r.taken {
		s.queue = slices.DeleteFunc(s.queue, func(q *request) bool { return q == r })
	}
}

// writeGroup writes the records of a group of requests in queue order and
// returns the write sequence number that covers them.
func (s *Store) writeGroup(group []*request) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.writeGroupLocked(group)
}

// writeGroupLocked is writeGroup with s.mu held.
func (s *Store) writeGroupLocked(group []*request) (uint64, error) {
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
	w, err := openFile(s.segPath(last), os.O_WRONLY|os.O_APPEND, 0)
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
		w, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
		if errors.Is(err, os.ErrExist) {
			seq++ // a file we could not read as a segment: leave it be
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", name, err)
		}
		rf, err := openFile(path, os.O_RDONLY, 0)
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

// A syncRound is one fsync of the files written since the last: err is
// set before done is closed.
type syncRound struct {
	done chan struct{}
	err  error
}

// syncTo returns once every write up to seq is fsynced, or ctx is done.
// One round at a time syncs for everyone waiting (group commit): while it
// waits for the disk the others write, and the next round covers them all.
// The round runs on its own goroutine, so that a caller whose ctx is
// cancelled stops waiting for it.
func (s *Store) syncTo(ctx context.Context, seq uint64) error {
	return s.syncUntil(ctx, func() bool { return s.synced >= seq })
}

// syncUntil waits for sync rounds until done, called with syncMu held,
// reports true, or ctx is done.
func (s *Store) syncUntil(ctx context.Context, done func() bool) error {
	for {
		s.syncMu.Lock()
		if done() {
			s.syncMu.Unlock()
			return nil
		}
		if s.round == nil {
			s.round = &syncRound{done: make(chan struct{})}
			go s.syncRound(s.round)
		}
		rd := s.round
		s.syncMu.Unlock()
		select {
		case <-rd.done:
			if rd.err != nil {
				return rd.err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// syncRound fsyncs the open segments written since the last round, closes
// the append handles retired since, and ends rd.
func (s *Store) syncRound(rd *syncRound) {
	target, files, err := s.dirtySegments()
	// The append-only blobs (the ledger's journal) are fsynced beside the
	// segments, at the same moment: the file system commits both in one
	// journal transaction, so a caller waiting for both waits for one.
	// They are taken after the segments: a blob appended before a record
	// that this round covers is in this round too (store.Appender).
	var blobTarget uint64
	var bfiles []*appendFile
	if s.hasAppends.Load() {
		blobTarget, bfiles = s.dirtyAppends()
	}
	start := time.Now()
	blobs := make(chan error, 1)
	go func() { blobs <- s.fsyncAppends(bfiles) }()
	if err == nil {
		err = s.fsyncSegments(files)
	}
	berr := <-blobs
	if s.opts.OnSync != nil && len(files)+len(bfiles) > 0 {
		s.opts.OnSync(time.Since(start))
	}
	s.syncMu.Lock()
	if err == nil {
		s.synced = max(s.synced, target)
	}
	if berr == nil {
		s.blobSynced = max(s.blobSynced, blobTarget)
	}
	rd.err = errors.Join(err, berr)
	s.round = nil
	s.syncMu.Unlock()
	close(rd.done)
}

// dirtySegments returns the write sequence number that the segments
// written since the last round reach, and their files, which it marks
// clean; it closes the append handles retired since.
func (s *Store) dirtySegments() (uint64, []*os.File, error) {
	s.mu.Lock()
	if s.failed != nil {
		err := s.failed
		s.mu.Unlock()
		return 0, nil, err
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
	for _, f := range retired {
		// Retired handles were fsynced at rotation.
		f.Close()
	}
	return target, files, nil
}

// fsyncSegments fsyncs the files; a failure is sticky.
func (s *Store) fsyncSegments(files []*os.File) error {
	for _, f := range files {
		if err := f.Sync(); err != nil {
			err = fmt.Errorf("fsync %s: %w", filepath.Base(f.Name()), err)
			s.mu.Lock()
			s.failed = err
			s.mu.Unlock()
			return err
		}
	}
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
			s.bmu.Lock()
			bseq := s.blobSeq
			s.bmu.Unlock()
			// A failure is sticky and reported by the next Append.
			s.syncUntil(context.Background(), func() bool { return s.synced >= seq && s.blobSynced >= bseq })
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
		errs = append(errs, s.syncTo(context.Background(), seq))
		// A round started by a concurrent Sync still holds file handles.
		s.syncMu.Lock()
		rd := s.round
		s.syncMu.Unlock()
		if rd != nil {
			<-rd.done
		}
	}
	s.mu.Lock()
	for _, g := range s.tails {
		errs = append(errs, s.retire(g))
	}
	s.mu.Unlock()
	errs = append(errs, s.closeAppends())
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

// Sync implements store.Syncer: it makes every write so far durable,
// whatever the durability mode. The integrity ledger calls it before each
// checkpoint, so that a checkpoint never outlives the lines it signs.
func (s *Store) Sync(ctx context.Context) error {
	if s.opts.ReadOnly {
		return store.ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	seq, closed := s.writeSeq, s.closed
	s.mu.RUnlock()
	if closed {
		return store.ErrClosed
	}
	return s.syncTo(ctx, seq)
}
