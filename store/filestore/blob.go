package filestore

import (
	"context"
	"errors"
	"fmt"
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
	if s.opts.ReadOnly {
		return store.ErrReadOnly
	}
	if err := store.CheckBlobName(name); err != nil {
		return err
	}
	if err := s.usable(ctx); err != nil {
		return err
	}
	path := s.blobPath(name)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write blob %s: %w", name, err)
	}
	tmp := path + ".tmp"
	os.Remove(tmp)
	if err := writeFileSync(tmp, data); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write blob %s: %w", name, err)
	}
	if err := os.Rename(tmp, path); err != nil {
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
	b, err := os.ReadFile(path)
	if err != nil && noBlob(path, err) {
		return nil, fmt.Errorf("read blob %s: %w", name, store.ErrNotFound)
	}
	return b, err
}

// ListBlobs implements store.Sidecar.
func (s *Store) ListBlobs(ctx context.Context, prefix string) ([]string, error) {
	if err := s.usable(ctx); err != nil {
		return nil, err
	}
	root := filepath.Join(s.dir, sideDir, "blobs")
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
	fi, serr := os.Stat(path)
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
