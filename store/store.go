package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"time"
)

// ErrNotFound is returned by Get and Delete when no record has the id.
var ErrNotFound = errors.New("entry not found")

// ErrClosed is returned by every method called after Close.
var ErrClosed = errors.New("store is closed")

// ErrReadOnly is returned by the mutating methods of a store opened read-only.
var ErrReadOnly = errors.New("store is read-only")

// A Record is one audit entry as a store sees it: an id, a time and the exact
// line bytes, without the trailing newline. A store never interprets Line
// beyond what it needs to place and find it.
type Record struct {
	ID   string    // canonical 36-character UUID
	Time time.Time // the entry's timestamp, UTC
	Line []byte    // one JSON object in the seed's line schema, no newline

	// Path and Offset say where a record read back was found (a file or
	// object name and a byte offset), so that a caller that fails to decode
	// Line can report the place. Stores set them on read where they can;
	// Append ignores them.
	Path   string
	Offset int64
}

// A Query selects records by time. Both bounds are inclusive, as in the
// seed; a zero bound is unbounded.
type Query struct {
	Start, End time.Time
}

// Contains reports whether t lies within the query's inclusive bounds.
func (q Query) Contains(t time.Time) bool {
	return (q.Start.IsZero() || !t.Before(q.Start)) && (q.End.IsZero() || !t.After(q.End))
}

// A Store places audit records durably and reads them back. It knows nothing
// of hashing, encryption or signing: comply.Logger does that and hands the
// store finished lines.
//
// Concurrency: all methods may be called concurrently.
//
// Ownership: a store keeps no reference to the slices it is given after a
// method returns, and callers may keep and modify what a method returns
// (the records a Scan yields too).
//
// Validity: Append refuses a record that Record.Check refuses (no id, no
// time, an empty line, a newline in the line, a line longer than the
// store's limit) and then stores none of the batch.
//
// Durability: Append returns only once every record is durable in the
// store's durability mode (see the store's documentation); on error, none of
// the records is acknowledged, although some may have been written. An
// acknowledged record is seen at once by Get, Scan and Count of the same
// Store value (read your writes), and Count equals the number of records a
// Scan of everything yields.
//
// Order: records are read back in the order they were appended within one
// partition (a file, an object; the stores partition by UTC day or not at
// all); partitions are read in ascending time. Time bounds are inclusive.
//
// Cancellation: cancelling ctx abandons the wait: the method returns
// promptly with an error wrapping ctx.Err(). An Append so abandoned is not
// acknowledged (its records may still be written, whole, or not at all); it
// never leaves a partial record behind. A Scan whose ctx is cancelled yields
// an error wrapping ctx.Err() before it ends, so that a cut scan never looks
// complete.
//
// Close: after Close every method returns an error wrapping ErrClosed (a
// Scan yields it); a second Close returns nil.
type Store interface {
	// Append stores the records, all or (on error) none acknowledged.
	Append(ctx context.Context, recs ...Record) error
	// Get returns the record with the id, or an error wrapping ErrNotFound.
	Get(ctx context.Context, id string) (Record, error)
	// Scan streams the records whose time lies within q's inclusive bounds.
	// A damaged record is yielded as an error (a *CorruptionError where the
	// store can say where) and the scan goes on if the caller continues.
	Scan(ctx context.Context, q Query) iter.Seq2[Record, error]
	// Count returns the number of records stored.
	Count(ctx context.Context) (int64, error)
	// Delete removes the record with the id, or returns an error wrapping
	// ErrNotFound.
	Delete(ctx context.Context, id string) error
	// Expire removes every record whose time is before the cutoff and
	// returns how many it removed.
	Expire(ctx context.Context, before time.Time) (int64, error)
	// Close flushes and releases the store. Records acknowledged by Append
	// are already durable; Close makes any records of a weaker durability
	// mode durable too.
	Close() error
}

// A CorruptionError reports a record that could not be read: its place
// (a file or object name and a byte offset) and the cause.
type CorruptionError struct {
	Path   string
	Offset int64
	Err    error
}

func (e *CorruptionError) Error() string {
	return "corrupt record in " + e.Path + " at offset " + strconv.FormatInt(e.Offset, 10) + ": " + e.Err.Error()
}

func (e *CorruptionError) Unwrap() error { return e.Err }

// Check returns an error if r cannot be appended as one line: no id, no
// time, an empty line, a line longer than maxLine bytes, or a line with a
// newline in it (which would split it in two). Stores call it on every
// record before they write any.
func (r *Record) Check(maxLine int) error {
	switch {
	case r.ID == "":
		return errors.New("append: record without an id")
	case r.Time.IsZero():
		return fmt.Errorf("append %s: record without a time", r.ID)
	case len(r.Line) == 0:
		return fmt.Errorf("append %s: empty line", r.ID)
	case len(r.Line) > maxLine:
		return fmt.Errorf("append %s: line of %d bytes exceeds the %d-byte limit", r.ID, len(r.Line), maxLine)
	case bytes.IndexByte(r.Line, '\n') >= 0:
		return fmt.Errorf("append %s: line contains a newline", r.ID)
	}
	return nil
}

// A Rewriter store can replace the lines of one segment in place, as
// retention does when it rewrites a segment without its expired lines: key
// rotation (rewrap) uses it to re-encrypt content under a new key.
//
// Rewrite calls fn with every readable record of the named segment (see
// Segmented), in order; fn returns the replacement line and true, or false
// to keep the line unchanged. A new line must keep the record's id and
// time and pass Record.Check. The segment is replaced atomically: a reader
// sees every old line or every new one, never a mix; if fn returns an
// error, or the context is cancelled, the segment is left as it was and
// Rewrite returns the error. It returns how many lines it changed.
// Unreadable lines are kept byte for byte. Rewrite does not report the new
// lines to an Observable store's observer: they are not new entries.
//
// On a store that keeps every version of an object (S3 with Object
// Lock), the old version stays until its retention ends: a rewrite adds a
// version, it cannot erase the old one.
type Rewriter interface {
	Rewrite(ctx context.Context, segment string, fn func(Record) (newLine []byte, changed bool, err error)) (int64, error)
}

// ErrNotDestroyable is wrapped by the error of a Destroyer that cannot
// promise to destroy a blob (an S3 bucket whose default Object Lock
// retention would lock it).
var ErrNotDestroyable = errors.New("blobs of this store cannot be destroyed")

// ErrBlobExists is wrapped by the error of CreateDestroyableBlob when the
// blob already exists: another writer created it first.
var ErrBlobExists = errors.New("the blob exists already")

// A Destroyer store keeps secret blobs (wrapped data keys) that it can
// destroy beyond recovery: crypto-shredding relies on it, even where
// entries themselves can never be deleted (S3 Object Lock).
//
// WriteDestroyableBlob is WriteBlob for a blob that DestroyBlob may later
// destroy: on S3 it is written without Object Lock retention, and it fails
// with an error wrapping ErrNotDestroyable if the bucket would lock it
// anyway (a default retention). DestroyBlob removes every stored version
// of the blob durably (on a versioned bucket, every version, not only a
// delete marker); destroying a missing blob is not an error. The file
// store removes the file and fsyncs its directory: what the file system
// or its backups keep beyond that is outside its reach (documented).
//
// CreateDestroyableBlob is WriteDestroyableBlob for a blob that must not
// exist yet: if it does, it changes nothing and the error wraps
// ErrBlobExists, atomically even between writers of one S3 bucket (a
// conditional PUT; a server without conditional writes falls back to a
// plain PUT, documented), so that two writers creating the same key at
// once agree on one.
type Destroyer interface {
	WriteDestroyableBlob(ctx context.Context, name string, data []byte) error
	CreateDestroyableBlob(ctx context.Context, name string, data []byte) error
	DestroyBlob(ctx context.Context, name string) error
}
