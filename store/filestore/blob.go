package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/complyhq/comply/store"
)

var (
	_ store.Sidecar    = (*Store)(nil)
	_ store.Observable = (*Store)(nil)
	_ store.Syncer     = (*Store)(nil)
)

func (s *Store) blobPath(name string) string {
	return filepath.Join(s.dir, sideDir, "blobs", filepath.FromSlash(name))
}

// WriteBlob implements store.Sidecar: a temporary file, fsync, rename and
// fsync of the directory.
func (s *Store) WriteBlob(ctx context.Context, name string, data []byte) error {
	return s.writeBlob(ctx, name, data, false)
}

// writeBlob writes the blob's file under a temporary name, fsyncs it and
// renames it over name; with create it links it to name instead, which
// fails (wrapping store.ErrBlobExists) if name exists.
func (s *Store) writeBlob(ctx context.Context, name string, data []byte, create bool) error {
	if s.opts.ReadOnly {
		return store.ErrReadOnly
	}
	if err := store.CheckBlobName(name); err != nil {
		return err
	}
	if err := s.usable(ctx); err != nil {
		return err
	}
	dir, err := s.blobDir(name, true)
	if err != nil {
		return fmt.Errorf("write blob %s: %w", name, err)
	}
	path := s.blobPath(name)
	// A name of this call's own, so that concurrent writers of one blob
	// never share (or remove) each other's temporary file; the last
	// rename wins. writeFileSync makes a fresh file, never following a
	// link; one a crash left is replaced or, under another number, never
	// read (listings skip *.tmp).
	tmp := fmt.Sprintf("%s.%d.%d.tmp", path, os.Getpid(), s.blobTmp.Add(1))
	os.Remove(tmp)
	defer os.Remove(tmp) // a no-op after a rename
	if err := writeFileSync(tmp, data); err != nil {
		return fmt.Errorf("write blob %s: %w", name, err)
	}
	if create {
		err = os.Link(tmp, path)
		if errors.Is(err, fs.ErrExist) {
			err = store.ErrBlobExists
		}
	} else {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return fmt.Errorf("write blob %s: %w", name, err)
	}
	return syncDir(dir)
}

// ReadBlob implements store.Sidecar.
func (s *Store) ReadBlob(ctx context.Context, name string) ([]byte, error) {
	if err := store.CheckBlobName(name); err != nil {
		return nil, err
	}
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	path := s.blobPath(name)
	b, err := readBlobFile(s, name, path)
	if err != nil && noBlob(path, err) {
		return nil, fmt.Errorf("read blob %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", name, err)
	}
	return b, nil
}

// readBlobFile reads the file of blob name, at path, following no symlink
// on the way.
func readBlobFile(s *Store, name, path string) ([]byte, error) {
	if _, err := s.blobDir(name, false); err != nil {
		return nil, err
	}
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// ListBlobs implements store.Sidecar.
func (s *Store) ListBlobs(ctx context.Context, prefix string) ([]string, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	root := filepath.Join(s.dir, sideDir, "blobs")
	if err := checkDirIfAny(root); err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	var names []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasSuffix(path, ".tmp") {
			return ctx.Err()
		}
		rel, _ := filepath.Rel(root, path)
		if name := filepath.ToSlash(rel); strings.HasPrefix(name, prefix) {
			names = append(names, name)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	slices.Sort(names)
	return names, nil
}

// noBlob reports whether err, from reading path, says that there is no
// blob: no file, a directory (a prefix of other blobs' names), or a file
// where a directory of the path should be (a blob whose name is a prefix).
func noBlob(path string, err error) bool {
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return true
	}
	fi, serr := os.Lstat(path)
	return serr == nil && fi.IsDir()
}

// usable returns ctx.Err(), or store.ErrClosed after Close.
func (s *Store) usable(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.closed {
		return store.ErrClosed
	}
	return nil
}

// Observe implements store.Observable.
func (s *Store) Observe(fn func(recs []store.Record)) {
	s.mu.Lock()
	s.observer = fn
	s.mu.Unlock()
}
