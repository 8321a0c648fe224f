package filestore

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/complyhq/comply/internal/line"
)

// A segment is one audit_*.jsonl file and what is known of it: a sealed
// index covering a prefix, and the entries past it, kept in memory.
type segment struct {
	name string
	day  int32
	seq  int
	ino  uint64

	rf     *os.File // read handle
	sealed *sealed  // nil when no usable index sidecar exists
	tail   []entry  // lines past sealed.covered, in file order
	byKey  map[key]int64
	tailSt stats
	size   int64 // bytes of complete lines known

	w     *os.File // append handle, for the writer's open segment of a day
	dirty bool     // written since the last fsync
}

func (g *segment) stats() stats {
	var st stats
	if g.sealed != nil {
		st = g.sealed.stats
	}
	st.merge(g.tailSt)
	return st
}

func (g *segment) count() int64 { st := g.stats(); return st.count }

// find returns the offsets of the lines with key k.
func (g *segment) find(k key, maxLine int) ([]int64, error) {
	data, err := g.sealed.checked(g.rf, maxLine)
	if err != nil {
		return nil, err
	}
	offs := find(data, k)
	if off, ok := g.byKey[k]; ok {
		offs = append(offs, off)
	}
	return offs, nil
}

// addTail records a line at off past the sealed prefix.
func (g *segment) addTail(k key, off, t int64) {
	if g.byKey == nil {
		g.byKey = make(map[key]int64)
	}
	if _, dup := g.byKey[k]; !dup {
		g.byKey[k] = off
	}
	g.tail = append(g.tail, entry{key: k, off: off, time: t})
	g.tailSt.add(t)
}

func (g *segment) close() {
	g.sealed.close()
	g.sealed = nil
	if g.rf != nil {
		g.rf.Close()
		g.rf = nil
	}
	if g.w != nil {
		g.w.Close()
		g.w = nil
	}
}

func (s *Store) segPath(g *segment) string { return filepath.Join(s.dir, g.name) }
func (s *Store) idxPath(name string) string {
	return filepath.Join(s.dir, sideDir, "index", name+".idx")
}

// openSegment opens the named segment file and learns its lines: from its
// index sidecar when that is usable, by reading the rest.
func (s *Store) openSegment(name string, day int32, seq int) (*segment, error) {
	f, err := openFile(filepath.Join(s.dir, name), os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	g := &segment{name: name, day: day, seq: seq, rf: f}
	if err := s.loadSegment(g); err != nil {
		f.Close()
		return nil, err
	}
	return g, nil
}

func (s *Store) loadSegment(g *segment) error {
	fi, err := g.rf.Stat()
	if err != nil {
		return err
	}
	g.ino = inode(fi)
	// A reader checks the entries on first use (sealed.checked); a writer
	// now, and rewrites a damaged index.
	x, err := loadIndex(s.idxPath(g.name), g.rf, fi.Size(), !s.opts.ReadOnly)
	switch {
	case err == nil:
		g.sealed, g.size = x, x.covered
	case errors.Is(err, os.ErrNotExist), errors.Is(err, errStaleIndex), errors.As(err, new(*UnsafePathError)):
		// rebuilt from the segment below (a writer's new index replaces
		// a symlink planted in its place, never following it)
	default:
		return err
	}
	return s.readTail(g, fi.Size())
}

// readTail indexes the complete lines of g between g.size and end.
func (s *Store) readTail(g *segment, end int64) error {
	if end <= g.size {
		return nil
	}
	lr := newLineReader(g.rf, g.size, end, s.opts.MaxLineSize)
	for {
		off, b, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return fmt.Errorf("read %s: %w", g.name, err)
		}
		if err == nil {
			var id string
			var ts int64
			if id, ts, err = peek(b); err == nil {
				g.addTail(keyOf(id), off, ts)
			}
		}
		if err != nil {
			g.tailSt.corrupt++
		}
		g.size = lr.off
	}
	return nil
}

func peek(b []byte) (string, int64, error) {
	id, t, err := line.Peek(b)
	if err != nil {
		return "", 0, err
	}
	return id, t.UnixMicro(), nil
}

// seal writes g's index sidecar covering all its known lines and maps it.
func (s *Store) seal(g *segment) error {
	if len(g.tail) == 0 && g.tailSt.corrupt == 0 && g.sealed != nil {
		return nil
	}
	data, err := g.sealed.checked(g.rf, s.opts.MaxLineSize)
	if err != nil {
		return fmt.Errorf("seal %s: %w", g.name, err)
	}
	es := appendEntries(make([]entry, 0, int(g.count())), data)
	es = append(es, g.tail...)
	path := s.idxPath(g.name)
	if err := writeIndex(path, g.rf, g.size, g.stats(), es); err != nil {
		return fmt.Errorf("seal %s: %w", g.name, err)
	}
	x, err := loadIndex(path, g.rf, g.size, true)
	if err != nil {
		return fmt.Errorf("seal %s: %w", g.name, err)
	}
	g.sealed.close()
	g.sealed, g.tail, g.byKey, g.tailSt = x, nil, nil, stats{}
	return nil
}

// readLine returns the line at off in g.
func readLine(f *os.File, off int64, maxLine int) ([]byte, error) {
	buf := make([]byte, 2048)
	var have int
	for {
		n, err := f.ReadAt(buf[have:], off+int64(have))
		if i := bytes.IndexByte(buf[have:have+n], '\n'); i >= 0 {
			return buf[: have+i : have+i], nil
		}
		have += n
		if err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		if have > maxLine {
			return nil, errLineTooLong
		}
		buf = append(buf, make([]byte, len(buf))...)
	}
}
