package store

import "context"

// A Sidecar is a store that also keeps small named blobs beside the
// entries, where integrity data (leaf hashes, signed checkpoints, deletion
// records) lives. Blobs are never mistaken for entries: the file store keeps
// them under .comply/, the S3 store under its own key prefix, and the
// Python library reads neither.
//
// Names are slash-separated paths of letters, digits, '-', '_' and '.'.
type Sidecar interface {
	// WriteBlob stores data under name durably, replacing any blob of that
	// name atomically: a reader sees the old blob or the new, never a mix.
	WriteBlob(ctx context.Context, name string, data []byte) error
	// ReadBlob returns the blob, or an error wrapping ErrNotFound.
	ReadBlob(ctx context.Context, name string) ([]byte, error)
	// ListBlobs returns the names of the blobs under prefix, sorted.
	ListBlobs(ctx context.Context, prefix string) ([]string, error)
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
