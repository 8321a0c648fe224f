package memstore

import (
	"context"

	"github.com/complyhq/comply/store"
)

var _ store.Appender = (*Store)(nil)

// AppendBlob implements store.Appender.
func (s *Store) AppendBlob(ctx context.Context, name string, data []byte) error {
	return s.setBlob(ctx, name, func(old []byte) []byte { return append(old, data...) })
}

// SyncBlob implements store.Appender; memory has nothing to sync.
func (s *Store) SyncBlob(ctx context.Context, name string) error {
	if err := store.CheckBlobName(name); err != nil {
		return err
	}
	return ctx.Err()
}

// RemoveBlob implements store.Appender.
func (s *Store) RemoveBlob(ctx context.Context, name string) error {
	if err := store.CheckBlobName(name); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return store.ErrClosed
	}
	delete(s.blobs, name)
	return ctx.Err()
}

// Durability implements store.Appender: what a memory store holds is lost
// with the process in any case, so the journal needs no sync.
func (s *Store) Durability() store.Durability { return store.None }
