package memstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/complyhq/comply/store"
)

var _ store.Destroyer = (*Store)(nil)

// WriteDestroyableBlob implements store.Destroyer: WriteBlob.
func (s *Store) WriteDestroyableBlob(ctx context.Context, name string, data []byte) error {
	return s.WriteBlob(ctx, name, data)
}

// CreateDestroyableBlob implements store.Destroyer.
func (s *Store) CreateDestroyableBlob(ctx context.Context, name string, data []byte) error {
	exists := false
	err := s.setBlob(ctx, name, func(old []byte) []byte {
		if old != nil {
			exists = true
			return old
		}
		return slices.Clone(data)
	})
	if err == nil && exists {
		err = fmt.Errorf("create blob %s: %w", name, store.ErrBlobExists)
	}
	return err
}

// DestroyBlob implements store.Destroyer: the blob is forgotten.
func (s *Store) DestroyBlob(ctx context.Context, name string) error {
	if err := store.CheckBlobName(name); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	delete(s.blobs, name)
	return nil
}
