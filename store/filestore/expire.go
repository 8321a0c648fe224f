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
	_, err = s.rewrite(ctx, s.byName[rec.Path], keepOnly(func(off, _ int64, _ bool) bool { return off != rec.Offset }))
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
			removed, err := s.rewrite(ctx, g, keepOnly(func(_, ts int64, ok bool) bool { return !ok || ts >= cut }))
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

// A lineEdit decides what becomes of one line of a segment being
// rewritten, given its offset, id and time (ok is false for a line that
// cannot be read, whose bytes are then nil): keep it as it is (nil, false),
// replace it (the new line without its newline, false) or drop it (nil,
// true).
type lineEdit func(off int64, id string, ts int64, ok bool, b []byte) (repl []byte, drop bool, err error)

// keepOnly is the lineEdit of retention and Delete: drop the lines keep
// refuses.
func keepOnly(keep func(off, ts int64, ok bool) bool) lineEdit {
	return func(off int64, _ string, ts int64, ok bool, _ []byte) ([]byte, bool, error) {
		return nil, !keep(off, ts, ok), nil
	}
}

// rewrite replaces segment g by a copy with each line edited by edit, and
// returns how many lines it dropped or replaced. A segment left empty is
// removed. The caller holds s.mu.
func (s *Store) rewrite(ctx context.Context, g *segment, edit lineEdit) (int64, error) {
	tmp := filepath.Join(s.dir, sideDir, "tmp", g.name)
	os.Remove(tmp) // a fresh file, never one found there
	out, err := openFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", g.name, err)
	}
	defer os.Remove(tmp) // a no-op after the rename
	es, st, edited, size, err := s.copyEdited(ctx, g, out, edit)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("rewrite %s: %w", g.name, err)
	}
	if edited == 0 {
		return 0, nil
	}
	if size == 0 {
		return edited, s.remove(g)
	}
	return edited, s.install(g, tmp, es, st, size)
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

// copyEdited copies the lines of g to out, edited by edit, and fsyncs
// out; it returns the index entries and stats of the copy and how many
// lines were dropped or replaced. Lines too long to read are copied byte
// for byte unless dropped.
func (s *Store) copyEdited(ctx context.Context, g *segment, out *os.File, edit lineEdit) (es []entry, st stats, edited, size int64, err error) {
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
		if err := ctx.Err(); err != nil {
			return nil, st, 0, 0, err
		}
		var id string
		var ts int64
		ok := false
		if !tooLong {
			id, ts, err = peek(b)
			ok = err == nil
		}
		var lb []byte
		if ok {
			lb = b
		}
		repl, drop, err := edit(off, id, ts, ok, lb)
		if err != nil {
			return nil, st, 0, 0, err
		}
		n := lr.off - off
		switch {
		case drop:
			edited++
			continue
		case repl != nil:
			b, n = repl, int64(len(repl))+1
			edited++
		}
		if tooLong && repl == nil {
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
	return es, st, edited, size, out.Sync()
}
