package s3store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/complyhq/comply/store"
)

// Sidecar blobs live under prefix/_comply/blobs/<name>, apart from the
// entries: neither layout's reads list them, and the Python library never
// looks there. The names are the caller's; integrity data is kept per
// writer by naming blobs after WriterID.

// WriteBlob implements store.Sidecar with one PUT, which S3 makes atomic.
// Under object_lock the blob is written with the store's retention; in a
// locked (so versioned) bucket, replacing a blob adds a version and the
// earlier versions stay until their retention ends.
func (s *Store) WriteBlob(ctx context.Context, name string, data []byte) error {
	if err := s.checkWrite(ctx, name); err != nil {
		return err
	}
	if err := s.put(ctx, blobDir+name, data, "application/octet-stream", nil, false); err != nil {
		return fmt.Errorf("write blob %s: %w", name, err)
	}
	return nil
}

// ReadBlob implements store.Sidecar.
func (s *Store) ReadBlob(ctx context.Context, name string) ([]byte, error) {
	if err := store.CheckBlobName(name); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	if s.hasAppended(name) {
		// Read this writer's own appends.
		if err := s.SyncBlob(ctx, name); err != nil {
			return nil, fmt.Errorf("read blob %s: %w", name, err)
		}
	}
	b, _, err := s.get(ctx, blobDir+name, "")
	if errors.Is(err, store.ErrNotFound) {
		b, err = s.readParts(ctx, name)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("read blob %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read blob %s: %w", name, err)
	}
	return b, nil
}

// ListBlobs implements store.Sidecar. An append-only blob is listed once,
// by its name, whatever its parts (see appendblob.go); so is one this
// writer has appended to but not yet stored.
func (s *Store) ListBlobs(ctx context.Context, prefix string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	var names []string
	err := s.list(ctx, blobDir+prefix, func(o object) error {
		if name, ok := strings.CutPrefix(o.rel, blobDir); ok && store.CheckBlobName(name) == nil {
			names = append(names, name)
		}
		return nil
	})
	if err == nil {
		err = s.list(ctx, partDir+prefix, func(o object) error {
			if name, _, ok := parsePartRel(o.rel); ok && strings.HasPrefix(name, prefix) {
				names = append(names, name)
			}
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("list blobs: %w", err)
	}
	s.ap.mu.Lock()
	for name, b := range s.ap.blobs {
		if strings.HasPrefix(name, prefix) && (len(b.buf) > 0 || len(b.parts) > 0) {
			names = append(names, name)
		}
	}
	s.ap.mu.Unlock()
	slices.Sort(names)
	return slices.Compact(names), nil
}

// checkWrite checks a blob write: a writable, open store, a valid name, a
// live ctx.
func (s *Store) checkWrite(ctx context.Context, name string) error {
	if s.opts.ReadOnly {
		return store.ErrReadOnly
	}
	if err := store.CheckBlobName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.isClosed() {
		return store.ErrClosed
	}
	return nil
}
