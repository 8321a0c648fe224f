package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// An UnsafePathError says that a path inside the store is not what the
// store made there: a symlink, or a file where a directory belongs. The
// store never follows a symlink inside its directory (nor uses such a
// directory): it refuses, naming the path, until an operator looks.
type UnsafePathError struct {
	Path string
	Why  string // "a symlink", "not a directory"
}

func (e *UnsafePathError) Error() string {
	return fmt.Sprintf("%s is %s: the store never follows a link inside its directory; remove it or move it away", e.Path, e.Why)
}

// checkDir returns nil if path is a directory and not a symlink, an
// *UnsafePathError if it is something else, or the error of Lstat (one
// wrapping fs.ErrNotExist if there is nothing at path).
func checkDir(path string) error {
	fi, err := os.Lstat(path)
	switch {
	case err != nil:
		return err
	case fi.Mode()&fs.ModeSymlink != 0:
		return &UnsafePathError{Path: path, Why: "a symlink"}
	case !fi.IsDir():
		return &UnsafePathError{Path: path, Why: "not a directory"}
	}
	return nil
}

// ensureDir makes path a directory (mode 0700) unless it is one already;
// it never follows or replaces a symlink at path.
func ensureDir(path string) error {
	err := checkDir(path)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.Mkdir(path, 0o700); errors.Is(err, fs.ErrExist) {
			err = checkDir(path)
		}
	}
	return err
}

// checkDirIfAny is checkDir for a directory that may be missing.
func checkDirIfAny(path string) error {
	if err := checkDir(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// openFile is os.OpenFile that never follows a symlink at path: it fails
// with an *UnsafePathError instead.
func openFile(path string, flag int, perm os.FileMode) (*os.File, error) {
	f, err := os.OpenFile(path, flag|noFollow, perm)
	if err != nil {
		if fi, lerr := os.Lstat(path); lerr == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, &UnsafePathError{Path: path, Why: "a symlink"}
		}
		return nil, err
	}
	return f, nil
}

// sideDirs returns the directories of .comply that Open checks.
func (s *Store) sideDirs() []string {
	side := filepath.Join(s.dir, sideDir)
	return []string{side, filepath.Join(side, "index"), filepath.Join(side, "torn"), filepath.Join(side, "tmp"), filepath.Join(side, "blobs")}
}

// checkSideDirs checks the directories under .comply: each must be a
// directory, not a symlink. A writer makes the missing ones (all but
// blobs, made on the first blob); a reader accepts missing ones.
func (s *Store) checkSideDirs() error {
	for i, d := range s.sideDirs() {
		var err error
		if s.opts.ReadOnly || i == 4 {
			err = checkDirIfAny(d)
		} else {
			err = ensureDir(d)
		}
		if err != nil {
			return fmt.Errorf("open store: %w", err)
		}
	}
	return nil
}

// blobDir returns the directory that holds blob name's file, checking each
// directory from .comply/blobs down (and, with create, making the missing
// ones): a symlink among them is an *UnsafePathError. Without create, a
// missing directory, or a file in its place (a blob whose name is a prefix
// of name's), is an error wrapping fs.ErrNotExist.
func (s *Store) blobDir(name string, create bool) (string, error) {
	dir := filepath.Join(s.dir, sideDir, "blobs")
	parts := strings.Split(name, "/")
	for i := 0; i < len(parts); i++ {
		if i > 0 {
			dir = filepath.Join(dir, parts[i-1])
		}
		var err error
		if create {
			err = ensureDir(dir)
		} else {
			var ue *UnsafePathError
			if err = checkDir(dir); errors.As(err, &ue) && ue.Why != "a symlink" {
				err = fmt.Errorf("%s: %w", dir, fs.ErrNotExist)
			}
		}
		if err != nil {
			return "", err
		}
	}
	return dir, nil
}

// A StrayFileError names a file of the store's directory that looks like
// an entry file (audit_*.jsonl, the pattern the Python library reads) but
// that the store does not read, and why: a name that is no date or not a
// segment's name, a symlink, something other than a regular file. Scan
// yields each at its start as a *store.CorruptionError with Offset -1
// (the whole file) wrapping a *StrayFileError, whatever the query's time
// bounds, and goes on; StrayFiles lists them.
type StrayFileError struct {
	Path string // the file's name in the store's directory
	Why  string
}

func (e *StrayFileError) Error() string { return e.Path + " is not read: " + e.Why }

// StrayFiles lists the files of the store's directory that look like
// entry files but that the store does not read (see StrayFileError), in
// name order. Their lines are in no Scan, Get or Count.
func (s *Store) StrayFiles(ctx context.Context) ([]*StrayFileError, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", s.dir, err)
	}
	var strays []*StrayFileError
	for _, de := range ents {
		if why := strayWhy(de); why != "" {
			strays = append(strays, &StrayFileError{Path: de.Name(), Why: why})
		}
	}
	return strays, nil
}

// strayWhy returns why the store does not read de although its name
// matches audit_*.jsonl, or "" if it reads it or the name does not match.
func strayWhy(de fs.DirEntry) string {
	name := de.Name()
	rest, ok := strings.CutPrefix(name, "audit_")
	if !ok {
		return ""
	}
	if rest, ok = strings.CutSuffix(rest, ".jsonl"); !ok {
		return ""
	}
	if _, _, ok := parseSegName(name); !ok {
		if len(rest) >= 8 && isDigits(rest[:8]) && (len(rest) == 8 || rest[8] == '_') {
			if _, err := time.Parse("20060102", rest[:8]); err != nil {
				return rest[:8] + " is not a valid date"
			}
		}
		return "the name is not audit_YYYYMMDD.jsonl or audit_YYYYMMDD_NNN.jsonl"
	}
	switch t := de.Type(); {
	case t&fs.ModeSymlink != 0:
		return "a symlink; the store never follows links"
	case !t.IsRegular():
		return "not a regular file"
	}
	return ""
}

func isDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
