package comply

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
)

// IntegrityOptions configure the tamper-evident ledger of a Logger: the
// signer key (required), the log's origin, and when checkpoints are
// written. See package ledger.
type IntegrityOptions = ledger.Options

// NewWithIntegrity returns a Logger over s, as New does, whose entries go
// into a tamper-evident ledger kept beside them (package ledger): an RFC
// 6962 Merkle tree over every line in write order, and checkpoints signed
// with iopts.Signer. s must keep sidecar blobs and report its writes
// (store.Sidecar and store.Observable: the file, memory and S3 stores do).
//
// The ledger is opened first: it checks its integrity data against its
// last checkpoint (an error wrapping ledger.ErrTampered if they differ),
// recovers the lines its journal vouches for (a crash), and writes a
// checkpoint. It never signs a line it did not write: lines neither its
// tree nor its journal hold, or a store with entries but no ledger (a
// directory the Python library wrote), make it fail with an error wrapping
// ledger.ErrForeign, until IntegrityOptions.AdoptAll ('comply seal')
// adopts them in a signed adoption record. Every Log writes the entry's
// leaf to the journal before the line (store.Appender, where the store
// keeps append-only blobs), durable with the line; checkpoints are
// written in the background. Delete and CleanupExpired go through the ledger, which signs
// a record of what they remove, so that 'comply verify' reports those
// entries as deleted by policy rather than missing; Close writes a last
// checkpoint before closing the store.
func NewWithIntegrity(ctx context.Context, s store.Store, opts *Options, iopts *IntegrityOptions) (*Logger, error) {
	if iopts == nil {
		return nil, errors.New("comply: integrity: no options (a signer key is required)")
	}
	lo := *iopts
	if lo.ErrorLog == nil && opts != nil {
		lo.ErrorLog = opts.ErrorLog
	}
	lg, err := ledger.Open(ctx, s, &lo)
	if err != nil {
		return nil, fmt.Errorf("comply: integrity: %w", err)
	}
	is := &integrityStore{Store: s, sc: s.(store.Sidecar), lg: lg}
	l, err := New(is, opts)
	if err != nil {
		lg.Close()
		return nil, err
	}
	if err := l.recordPolicy(ctx); err != nil {
		l.once.Do(func() { close(l.stop) }) // stop background work; s stays the caller's
		l.done.Wait()
		lg.Close()
		return nil, err
	}
	return l, nil
}

// Ledger returns the Logger's ledger, or nil for a Logger made without
// integrity.
func (l *Logger) Ledger() *ledger.Ledger {
	if is, ok := l.store.(*integrityStore); ok {
		return is.lg
	}
	return nil
}

// integrityStore routes the removals and the Close of a store through its
// ledger. Writes go straight to the store, which reports them to the
// ledger's observer.
type integrityStore struct {
	store.Store
	sc store.Sidecar
	lg *ledger.Ledger
}

var _ store.Sidecar = (*integrityStore)(nil)

// Append writes the records through the ledger's journal, so that every
// acknowledged entry has integrity data a restarted writer can check.
func (s *integrityStore) Append(ctx context.Context, recs ...store.Record) error {
	return s.lg.Append(ctx, recs...)
}

// Delete signs a deletion record (a request), then deletes the entry.
func (s *integrityStore) Delete(ctx context.Context, id string) error {
	return s.lg.Delete(ctx, id)
}

// Expire signs a deletion record (retention) of what it is about to
// remove, then expires it.
func (s *integrityStore) Expire(ctx context.Context, before time.Time) (int64, error) {
	return s.lg.Expire(ctx, before)
}

// Close writes the ledger's last checkpoint, then closes the store.
func (s *integrityStore) Close() error {
	return errors.Join(s.lg.Close(), s.Store.Close())
}

func (s *integrityStore) WriteBlob(ctx context.Context, name string, data []byte) error {
	return s.sc.WriteBlob(ctx, name, data)
}

func (s *integrityStore) ReadBlob(ctx context.Context, name string) ([]byte, error) {
	return s.sc.ReadBlob(ctx, name)
}

func (s *integrityStore) ListBlobs(ctx context.Context, prefix string) ([]string, error) {
	return s.sc.ListBlobs(ctx, prefix)
}
