package store

import "context"

// An Appender is a Sidecar store that also keeps append-only blobs, where
// the integrity ledger writes its journal: the leaf hashes of every write,
// made durable with the write itself, so that no acknowledged entry is ever
// without integrity data (see package ledger).
//
// All methods may be called concurrently, but appends to one blob must not
// be: the caller serialises them. The store keeps no reference to data.
// Cancelling ctx abandons the call; an append is then either whole or
// absent once the store is reopened, or is cut at a record boundary by
// the reader (the journal frames its records).
type Appender interface {
	Sidecar

	// AppendBlob appends data to the named blob, creating it if missing.
	// The data is made durable with the records: once an Append that
	// began after AppendBlob returned is acknowledged, the data is as
	// durable as that Append's records (in the Always mode, it survives a
	// crash of the machine). SyncBlob makes it durable at once.
	AppendBlob(ctx context.Context, name string, data []byte) error

	// SyncBlob makes everything appended to the named blob durable.
	SyncBlob(ctx context.Context, name string) error

	// RemoveBlob removes the named blob, durably. Removing a blob that
	// does not exist is not an error.
	RemoveBlob(ctx context.Context, name string) error

	// Durability returns the store's durability mode: the journal is made
	// durable on the same schedule as the records (Always: before Append
	// returns; Interval: within the interval; None: at close).
	Durability() Durability
}
