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

var _ store.Appender = (*Store)(nil)

// appendFile is an open append-only blob. created says that the file is new
// since its directory was last synced.
type appendFile struct {
	f       *os.File
	created bool
}

// AppendBlob implements store.Appender: one write(2) to a file under
// .comply/blobs opened with O_APPEND and never through a symlink.
func (s *Store) AppendBlob(ctx context.Context, name string, data []byte) error {
	af, err := s.appendFile(ctx, name)
	if err != nil {
		return err
	}
	if _, err := af.f.Write(data); err != nil {
		return fmt.Errorf("append blob %s: %w", name, err)
	}
	return nil
}

// SyncBlob implements store.Appender: fsync of the file, and of its
// directory the first time.
func (s *Store) SyncBlob(ctx context.Context, name string) error {
	af, err := s.appendFile(ctx, name)
	if err != nil {
		return err
	}
	if err := af.f.Sync(); err != nil {
		return fmt.Errorf("sync blob %s: %w", name, err)
	}
	s.bmu.Lock()
	created := af.created
	af.created = false
	s.bmu.Unlock()
	if created {
		return syncDir(filepath.Dir(s.blobPath(name)))
	}
	return nil
}

// RemoveBlob implements store.Appender.
func (s *Store) RemoveBlob(ctx context.Context, name string) error {
	if s.opts.ReadOnly {
		return store.ErrReadOnly
	}
	if err := store.CheckBlobName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.bmu.Lock()
	if af := s.appends[name]; af != nil {
		af.f.Close()
		delete(s.appends, name)
	}
	s.bmu.Unlock()
	if _, err := s.blobDir(name, false); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove blob %s: %w", name, err)
	}
	path := s.blobPath(name)
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove blob %s: %w", name, err)
	}
	return syncDir(filepath.Dir(path))
}

// Durability implements store.Appender.
func (s *Store) Durability() store.Durability { return s.opts.Durability }

func (s *Store) appendFile(ctx context.Context, name string) (*appendFile, error) {
	if s.opts.ReadOnly {
		return nil, store.ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.bmu.Lock()
	defer s.bmu.Unlock()
	if s.bclosed {
		return nil, store.ErrClosed
	}
	if af := s.appends[name]; af != nil {
		return af, nil
	}
	if err := store.CheckBlobName(name); err != nil {
		return nil, err
	}
	if _, err := s.blobDir(name, true); err != nil {
		return nil, fmt.Errorf("append blob %s: %w", name, err)
	}
	path := s.blobPath(name)
	_, statErr := os.Lstat(path)
	f, err := openFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("append blob %s: %w", name, err)
	}
	if s.appends == nil {
		s.appends = make(map[string]*appendFile)
	}
	af := &appendFile{f: f, created: statErr != nil}
	s.appends[name] = af
	return af, nil
}

// closeAppends closes the append-only blobs, syncing them first.
func (s *Store) closeAppends() error {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	s.bclosed = true
	var errs []error
	for name, af := range s.appends {
		if !s.opts.ReadOnly {
			errs = append(errs, af.f.Sync())
		}
		errs = append(errs, af.f.Close())
		delete(s.appends, name)
	}
	return errors.Join(errs...)
}
