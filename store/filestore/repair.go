package filestore

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// repairAll cuts a torn final line from every segment: bytes after the last
// newline, left by a crash in the middle of a write. Such bytes were never
// acknowledged (Append returns only after whole lines are written), but
// they are kept, in .comply/torn/<segment>.<offset>.torn, never thrown away.
func (s *Store) repairAll() error {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", s.dir, err)
	}
	for _, de := range ents {
		if _, _, ok := parseSegName(de.Name()); ok && de.Type().IsRegular() {
			if err := s.repair(de.Name()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) repair(name string) error {
	path := filepath.Join(s.dir, name)
	f, err := openFile(path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("repair %s: %w", name, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("repair %s: %w", name, err)
	}
	size := fi.Size()
	keep, err := lastLineEnd(f, size)
	if err != nil {
		return fmt.Errorf("repair %s: %w", name, err)
	}
	if keep == size {
		return nil
	}
	torn := make([]byte, size-keep)
	if _, err := f.ReadAt(torn, keep); err != nil {
		return fmt.Errorf("repair %s: %w", name, err)
	}
	copyPath := filepath.Join(s.dir, sideDir, "torn", name+"."+strconv.FormatInt(keep, 10)+".torn")
	if err := writeFileSync(copyPath, torn); err != nil {
		return fmt.Errorf("repair %s: keep torn tail: %w", name, err)
	}
	if err := f.Truncate(keep); err != nil {
		return fmt.Errorf("repair %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("repair %s: %w", name, err)
	}
	s.opts.ErrorLog.Warn("filestore: cut a torn final line left by a crash (never acknowledged); a copy is kept",
		"file", name, "offset", keep, "bytes", size-keep, "copy", copyPath)
	return nil
}

// lastLineEnd returns the offset just past the last newline of f.
func lastLineEnd(f *os.File, size int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end := size; end > 0; {
		start := max(0, end-int64(len(buf)))
		b := buf[:end-start]
		if _, err := f.ReadAt(b, start); err != nil && err != io.EOF {
			return 0, err
		}
		if i := bytes.LastIndexByte(b, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// writeFileSync writes a new file durably: data, then its directory entry.
func writeFileSync(path string, data []byte) error {
	f, err := openFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// clearTmp removes what a crashed rewrite left in .comply/tmp: the
// original file is intact until the rename that ends a rewrite.
func (s *Store) clearTmp() error {
	dir := filepath.Join(s.dir, sideDir, "tmp")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	for _, de := range ents {
		if err := os.Remove(filepath.Join(dir, de.Name())); err != nil {
			return fmt.Errorf("open store: %w", err)
		}
	}
	return nil
}

// removeOrphanIndexes removes index sidecars whose segment is gone. The
// caller holds s.mu.
func (s *Store) removeOrphanIndexes() error {
	dir := filepath.Join(s.dir, sideDir, "index")
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	for _, de := range ents {
		name, ok := strings.CutSuffix(de.Name(), ".idx")
		if ok && s.byName[name] != nil {
			continue
		}
		os.Remove(filepath.Join(dir, de.Name()))
	}
	return nil
}
