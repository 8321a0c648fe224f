package filestore

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/complyhq/comply/store"
)

// Delete implements store.Store by rewriting the one file that holds the
// line, atomically.
func (s *Store) Delete(ctx context.Context, id string) error {
	if s.opts.ReadOnly {
		return store.ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	rec, found, err := s.lookup(id, keyOf(id))
	if err != nil {
		return fmt.Errorf("delete %s: %w", id, err)
	}
	if !found {
		return fmt.Errorf("delete %s: %w", id, store.ErrNotFound)
	}
	_, err = s.rewrite(s.byName[rec.Path], func(off, _ int64, _ bool) bool { return off != rec.Offset })
	return err
}

// Expire implements store.Store. A file whose entries are all expired is
// removed whole; a file partly expired is rewritten without them, through a
// temporary file, fsync and rename, so that a crash at any point loses no
// unexpired entry and duplicates none. Lines that cannot be read are kept:
// their age is unknown.
func (s *Store) Expire(ctx context.Context, before time.Time) (int64, error) {
	if s.opts.ReadOnly {
		return 0, store.ErrReadOnly
	}
	cut := before.UnixMicro()
	if before.Nanosecond()%1000 != 0 {
		cut++ // lines are stamped to the microsecond
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, store.ErrClosed
	}
	var n int64
	for _, g := range slices.Clone(s.segs) {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		st := g.stats()
		switch {
		case st.count == 0 || st.minT >= cut:
			continue
		case st.maxT < cut && st.corrupt == 0:
			if err := s.remove(g); err != nil {
				return n, err
			}
			n += st.count
		default:
			removed, err := s.rewrite(g, func(_, ts int64, ok bool) bool { return !ok || ts >= cut })
			n += removed
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// remove deletes segment g and its index. The caller holds s.mu.
func (s *Store) remove(g *segment) error {
	if err := os.Remove(s.segPath(g)); err != nil {
		return fmt.Errorf("remove %s: %w", g.name, err)
	}
	os.Remove(s.idxPath(g.name))
	if err := syncDir(s.dir); err != nil {
		return err
	}
	s.release(g)
	s.drop(g)
	return nil
}

// release hands g's append handle, if any, to the retired list: a sync in
// progress may be using it.
func (s *Store) release(g *segment) {
	if g.w != nil {
		s.retired = append(s.retired, g.w)
		g.w, g.dirty = nil, false
		delete(s.tails, g.day)
	}
}

// rewrite replaces segment g by a copy holding only the lines keep accepts
// (given each line's offset, time and whether it could be read), and
// returns how many lines it dropped. The caller holds s.mu.
func (s *Store) rewrite(g *segment, keep func(off, ts int64, ok bool) bool) (int64, error) {
	tmp := filepath.Join(s.dir, sideDir, "tmp", g.name)
	os.Remove(tmp) // a fresh file, never one found there
	out, err := openFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", g.name, err)
	}
	defer os.Remove(tmp) // a no-op after the rename
	es, st, removed, size, err := s.copyKept(g, out, keep)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", g.name, err)
	}
	if removed == 0 {
		return 0, nil
	}
	if size == 0 {
		return removed, s.remove(g)
	}
	return removed, s.install(g, tmp, es, st, size)
}

// install renames tmp, a complete and fsynced copy of segment g holding
// the entries es, over g's file and makes g describe it. The caller holds
// s.mu.
func (s *Store) install(g *segment, tmp string, es []entry, st stats, size int64) error {
	path := s.segPath(g)
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("rewrite %s: %w", g.name, err)
	}
	if err := syncDir(s.dir); err != nil {
		return err
	}
	// From here on g describes the new file.
	rf, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("rewrite %s: %w", g.name, err)
	}
	fi, err := rf.Stat()
	if err != nil {
		rf.Close()
		return fmt.Errorf("rewrite %s: %w", g.name, err)
	}
	wasTail := g.w != nil
	s.release(g)
	g.rf.Close()
	g.sealed.close()
	g.rf, g.ino, g.size = rf, inode(fi), size
	g.sealed, g.tail, g.byKey, g.tailSt = nil, es, nil, st
	if err := s.seal(g); err != nil {
		return err
	}
	if wasTail {
		if g.w, err = openFile(path, os.O_WRONLY|os.O_APPEND, 0); err != nil {
			return fmt.Errorf("rewrite %s: %w", g.name, err)
		}
		s.tails[g.day] = g
	}
	return nil
}

// copyKept copies the kept lines of g to out and fsyncs it. Lines too long
// to read are copied byte for byte.
func (s *Store) copyKept(g *segment, out *os.File, keep func(off, ts int64, ok bool) bool) (es []entry, st stats, removed, size int64, err error) {
	bw := bufio.NewWriterSize(out, 1<<20)
	lr := newLineReader(g.rf, 0, g.size, s.opts.MaxLineSize)
	for {
		off, b, err := lr.next()
		if err == io.EOF {
			break
		}
		tooLong := errors.Is(err, errLineTooLong)
		if err != nil && !tooLong {
			return nil, st, 0, 0, err
		}
		var id string
		var ts int64
		ok := false
		if !tooLong {
			id, ts, err = peek(b)
			ok = err == nil
		}
		if !keep(off, ts, ok) {
			removed++
			continue
		}
		n := lr.off - off
		if tooLong {
			_, err = io.Copy(bw, io.NewSectionReader(g.rf, off, n))
		} else {
			bw.Write(b)
			err = bw.WriteByte('\n')
		}
		if err != nil {
			return nil, st, 0, 0, err
		}
		if ok {
			es = append(es, entry{key: keyOf(id), off: size, time: ts})
			st.add(ts)
		} else {
			st.corrupt++
		}
		size += n
	}
	if err := bw.Flush(); err != nil {
		return nil, st, 0, 0, err
	}
	return es, st, removed, size, out.Sync()
}
