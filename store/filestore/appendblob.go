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
	name    string
	created bool // the file is new since its directory was last synced
	dirty   bool // appended to since its last fsync
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
	s.bmu.Lock()
	af.dirty = true
	s.blobSeq++
	s.bmu.Unlock()
	s.hasAppends.Store(true)
	return nil
}

// SyncBlob implements store.Appender. It joins the store's next sync
// round, which fsyncs the dirty blobs at the same moment as the segments
// (and their directory, the first time): a writer that waits for both its
// records and its journal waits for one round.
func (s *Store) SyncBlob(ctx context.Context, name string) error {
	if _, err := s.appendFile(ctx, name); err != nil {
		return err
	}
	s.bmu.Lock()
	seq := s.blobSeq
	s.bmu.Unlock()
	return s.syncUntil(ctx, func() bool { return s.blobSynced >= seq })
}

// dirtyAppends returns the number of blob appends so far and the blobs
// appended to since their last fsync, which it marks clean.
func (s *Store) dirtyAppends() (uint64, []*appendFile) {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	var files []*appendFile
	for _, af := range s.appends {
		if af.dirty || af.created {
			files = append(files, af)
			af.dirty = false
		}
	}
	return s.blobSeq, files
}

// fsyncAppends fsyncs the blobs, and the directory of each new one.
func (s *Store) fsyncAppends(files []*appendFile) error {
	var errs []error
	for _, af := range files {
		if err := af.f.Sync(); errors.Is(err, os.ErrClosed) {
			continue // removed since: nothing left to sync
		} else if err != nil {
			errs = append(errs, fmt.Errorf("sync blob %s: %w", af.name, err))
			continue
		}
		s.bmu.Lock()
		created := af.created
		af.created = false
		s.bmu.Unlock()
		if created {
			if err := syncDir(filepath.Dir(s.blobPath(af.name))); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
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
	af := &appendFile{f: f, name: name, created: statErr != nil}
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
