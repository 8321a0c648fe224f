package comply

import (
	"errors"
	"fmt"

	"github.com/complyhq/comply/store"
)

// ErrNotFound is the sentinel wrapped by every error that says an entry does
// not exist; test with errors.Is.
var ErrNotFound = store.ErrNotFound

// ErrEntryTooLarge is wrapped by Log when an encoded entry exceeds
// Options.MaxEntrySize. Raise that limit, or log hashes only (without
// Options.StoreContent).
var ErrEntryTooLarge = errors.New("entry too large")

// ErrNoEncryption is returned when content storage or decryption is asked
// of a Logger that has no keyring: set Options.Keyring.
var ErrNoEncryption = errors.New("no encryption key configured")

// ErrClosed is wrapped by the error of every Logger method called after
// Close.
var ErrClosed = store.ErrClosed

// A NotFoundError says that no entry has the id.
type NotFoundError struct {
	ID string
}

func (e *NotFoundError) Error() string { return fmt.Sprintf("entry %s not found", e.ID) }

// Unwrap makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

// An InvalidError says that an Interaction cannot be logged as it is: which
// field, and why. Nothing was stored.
type InvalidError struct {
	Field string
	Err   error
}

func (e *InvalidError) Error() string { return "invalid " + e.Field + ": " + e.Err.Error() }

func (e *InvalidError) Unwrap() error { return e.Err }

// A BatchError says which interaction of a LogBatch call could not be
// logged (its Index, from 0), and why. Nothing of the batch was stored.
type BatchError struct {
	Index int
	Err   error
}

func (e *BatchError) Error() string { return fmt.Sprintf("interaction %d: %v", e.Index, e.Err) }

func (e *BatchError) Unwrap() error { return e.Err }
