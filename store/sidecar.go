package store

import "context"

// A Sidecar is a store that also keeps small named blobs beside the
// entries, where integrity data (leaf hashes, signed checkpoints, deletion
// records) lives. Blobs are never mistaken for entries: they are not
// counted, scanned or expired as entries. The file store keeps them under
// .comply/, the S3 store under its own key prefix, and the Python library
// reads neither.
//
// Names are slash-separated paths of letters, digits, '-', '_' and '.'
// (see CheckBlobName); a method given another name returns an error.
//
// All methods may be called concurrently, with each other and with the
// Store's methods. WriteBlob keeps no reference to data after it returns,
// and the caller owns the slice ReadBlob returns. Cancelling ctx abandons
// the wait; a blob being replaced is then either the old or the new one.
// After Close every method returns an error wrapping ErrClosed.
type Sidecar interface {
	// WriteBlob stores data under name, replacing any blob of that name
	// atomically: a reader sees the old blob or the new, never a mix. It
	// returns once the blob is durable (fsynced, or stored as an object),
	// whatever the store's durability mode.
	WriteBlob(ctx context.Context, name string, data []byte) error
	// ReadBlob returns the blob, or an error wrapping ErrNotFound.
	ReadBlob(ctx context.Context, name string) ([]byte, error)
	// ListBlobs returns the names of the blobs that begin with prefix,
	// sorted; none is an empty list, not an error.
	ListBlobs(ctx context.Context, prefix string) ([]string, error)
}

// A SidecarStore is a Store that keeps sidecar blobs: what an integrity
// ledger needs to be read and verified (ledger.Verify, ledger.Prove). A
// ledger writer also needs the store to be Observable.
type SidecarStore interface {
	Store
	Sidecar
}

// An Observable store reports the records it writes, in the order it
// writes them, so that an integrity log can follow the storage order
// exactly.
type Observable interface {
	// Observe sets fn to be called with the records of every successful
	// write, in write order, before Append returns and before any later
	// write. It is called with the store's write lock held: it must be fast
	// and must not call the store. It may not keep recs or their lines.
	// Observe must be called before the first Append.
	Observe(fn func(recs []Record))
}

// A Syncer is a store that can make every write so far durable, whatever
// its durability mode. A ledger over a store that is a Syncer syncs it
// before each checkpoint, so that a checkpoint never signs lines a crash
// could still lose; over any other store, checkpoints rely on the store's
// own durability mode.
//
// Sync may be called concurrently with every other method; concurrent
// calls share the work. It returns once every record acknowledged before
// the call is durable. Cancelling ctx abandons the wait (the sync itself
// may still complete). After Close it returns an error wrapping ErrClosed;
// on a read-only store, one wrapping ErrReadOnly.
type Syncer interface {
	Sync(ctx context.Context) error
}

// A Shared store is written by several writers at once (several processes
// appending to one S3 prefix, each under its own writer id) and says which
// wrote each record, so that each writer's integrity log adopts only its
// own lines.
//
// Both methods are cheap, do no I/O and may be called concurrently with
// every other method, after Close too.
type Shared interface {
	// WriterID returns the id under which this store writes, or "" for a
	// store opened read-only.
	WriterID() string
	// RecordWriter returns the id of the writer that wrote rec, a record
	// read back from this store (it looks at rec.Path), and true; or false
	// if the store cannot tell (a record of a layout whose names carry no
	// writer, or of another store).
	RecordWriter(rec Record) (string, bool)
}
