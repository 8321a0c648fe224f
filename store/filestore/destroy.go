package filestore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/complyhq/comply/store"
)

var _ store.Destroyer = (*Store)(nil)

// WriteDestroyableBlob implements store.Destroyer: WriteBlob (a file under
// .comply/, mode 0600).
func (s *Store) WriteDestroyableBlob(ctx context.Context, name string, data []byte) error {
	return s.WriteBlob(ctx, name, data)
}

// CreateDestroyableBlob implements store.Destroyer: the blob's file is
// written under a temporary name, fsynced, and linked to its name, which
// fails if a file has that name.
func (s *Store) CreateDestroyableBlob(ctx context.Context, name string, data []byte) error {
	return s.writeBlob(ctx, name, data, true)
}

// DestroyBlob implements store.Destroyer: it removes the blob's file and
// fsyncs its directory. Copies that the file system, snapshots or backups
// keep are beyond its reach.
func (s *Store) DestroyBlob(ctx context.Context, name string) error {
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
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("destroy blob %s: %w", name, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("destroy blob %s: %w", name, err)
	}
	return nil
}
