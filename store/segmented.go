package store

import (
	"context"
	"iter"
	"time"
)

// A Segmented store keeps its records in segments (a file, an object) and
// lists them, so that summaries kept per segment (rollups, skip filters)
// can be built once, recognised as stale when the segment changes, and used
// to skip the segments a query cannot match.
//
// Concurrency: all methods may be called concurrently, with each other and
// with the Store's methods. A segment listed may be removed by retention
// before it is scanned: ScanSegment then yields an error wrapping
// ErrNotFound.
//
// A store that lists no segments in its present configuration (the S3
// store's seed layout) returns an error wrapping errors.ErrUnsupported from
// Segments; a caller then falls back to Scan.
type Segmented interface {
	// Segments lists the segments that may hold records within q's
	// inclusive bounds, in the order Scan reads them.
	Segments(ctx context.Context, q Query) ([]Segment, error)
	// ScanSegment streams the records of the named segment within q's
	// bounds, as Scan does for the whole store (damaged records are
	// yielded as errors and the scan goes on).
	ScanSegment(ctx context.Context, name string, q Query) iter.Seq2[Record, error]
}

// A Segment describes one segment of a Segmented store.
type Segment struct {
	Name     string    // unique within the store: a file name, an object key
	Min, Max time.Time // the earliest and latest record times; zero when empty
	Count    int64     // the records it holds
	Sealed   bool      // nothing will be appended to it any more
	// Version changes whenever the segment's content changes (an
	// append, a rewrite by retention or Delete): a summary built at one
	// version is stale at another. Equal versions mean equal content.
	Version string
}
