package s3store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/complyhq/comply/store"
)

// ErrRetained is wrapped by the errors of deletions that an object lock
// refuses: see RetainedError.
var ErrRetained = errors.New("object is under retention")

// A RetainedError says that an S3 Object Lock protects an object from
// deletion: its retention runs until Until (or a legal hold is on).
type RetainedError struct {
	Key       string    // the bucket key
	Mode      LockMode  // COMPLIANCE or GOVERNANCE
	Until     time.Time // end of the retention; zero under a legal hold only
	LegalHold bool
}

func (e *RetainedError) Error() string {
	if e.Until.IsZero() {
		return fmt.Sprintf("%s is under a legal hold and cannot be deleted", e.Key)
	}
	return fmt.Sprintf("%s is locked (%s retention) until %s and cannot be deleted before then", e.Key, e.Mode, e.Until.Format(time.RFC3339))
}

// Is makes errors.Is(err, ErrRetained) true.
func (e *RetainedError) Is(target error) bool { return target == ErrRetained }

// MaxLineSize bounds a line; Append refuses longer ones.
const MaxLineSize = 64 << 20

// Store is an S3 store. See the package documentation.
type Store struct {
	cfg    config
	opts   Options
	c      *s3.Client
	writer string
	cnt    counters
	noCond atomic.Bool // the server refused If-None-Match: *

	mu       sync.Mutex
	closed   bool
	observer func([]store.Record)

	w    *segWriter  // layout=segments, writable
	seed *seedWriter // layout=seed, writable

	cache cache
	ap    appends
}

// Locks of a Store:
//
//   - Store.mu guards closed and observer, and the writers' state: every
//     field of segWriter (its buffers, queue, counters and sequence
//     numbers, and the psegs it holds) and seedWriter.seq. Append holds it
//     while it places records and calls the observer; no I/O is done with
//     it held, and waits for uploads select on the caller's ctx.
//   - seedWriter.mu guards seedWriter.failed.
//   - cache.mu guards the cache's listings and indexes.
//   - ap.mu guards the append-only blobs (appendblob.go); it is never held
//     with another lock.
//   - The fields set in Open (cfg, opts, c, writer, w, seed) need no lock;
//     cnt and noCond are atomic.
//
// Lock order: Store.mu before cache.mu (segWriter.finish records a stored
// segment in the cache with Store.mu held); seedWriter.mu is never held
// with another.

var (
	_ store.Store      = (*Store)(nil)
	_ store.Sidecar    = (*Store)(nil)
	_ store.Observable = (*Store)(nil)
	_ store.Shared     = (*Store)(nil)
	_ store.Appender   = (*Store)(nil)
)

// Open opens the store that rawURL names (see the package documentation
// for its parameters). It checks that the bucket is reachable and, for a
// writer with object_lock, that the bucket has Object Lock enabled.
// Credentials come from the standard AWS chain unless opts.Client is set.
func Open(ctx context.Context, rawURL string, opts *Options) (*Store, error) {
	cfg, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	s := &Store{cfg: cfg}
	if opts != nil {
		s.opts = *opts
	}
	if s.opts.Writer != "" {
		if err := checkWriter(s.opts.Writer); err != nil {
			return nil, err
		}
		s.cfg.writer = s.opts.Writer
	}
	where := "s3://" + cfg.bucket + "/" + cfg.prefix
	s.c = s.opts.Client
	if s.c == nil {
		var lo []func(*awsconfig.LoadOptions) error
		if cfg.region != "" {
			lo = append(lo, awsconfig.WithRegion(cfg.region))
		}
		ac, err := awsconfig.LoadDefaultConfig(ctx, lo...)
		if err != nil {
			return nil, fmt.Errorf("open %s: loading AWS configuration: %w", where, err)
		}
		if ac.Region == "" {
			return nil, fmt.Errorf("open %s: %w", where, ErrNoRegion)
		}
		s.c = s3.NewFromConfig(ac, func(o *s3.Options) {
			if cfg.endpoint != "" {
				o.BaseEndpoint = aws.String(cfg.endpoint)
				o.UsePathStyle = true
			}
		})
	}
	s3c := s.c
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &cfg.bucket}); err != nil {
		switch {
		case isNotFound(err) || errorCode(err) == "NoSuchBucket":
			return nil, fmt.Errorf("open %s: bucket %s does not exist", where, cfg.bucket)
		case errorCode(err) == "Forbidden" || errorCode(err) == "AccessDenied":
			return nil, fmt.Errorf("open %s: bucket %s: %w: %w", where, cfg.bucket, ErrAccessDenied, err)
		}
		return nil, fmt.Errorf("open %s: %w", where, scrubEndpoint(err, cfg.endpoint))
	}
	if s.opts.ReadOnly {
		return s, nil
	}
	if cfg.lock != NoLock {
		out, err := s3c.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: &cfg.bucket})
		if err != nil || out.ObjectLockConfiguration == nil || out.ObjectLockConfiguration.ObjectLockEnabled != types.ObjectLockEnabledEnabled {
			if err != nil && errorCode(err) != "ObjectLockConfigurationNotFoundError" {
				return nil, fmt.Errorf("open %s: %w", where, &ObjectLockError{Bucket: cfg.bucket, Mode: cfg.lock, Err: err})
			}
			return nil, fmt.Errorf("open %s: %w", where, &ObjectLockError{Bucket: cfg.bucket, Mode: cfg.lock})
		}
	}
	s.writer = s.cfg.writer
	if s.writer == "" {
		s.writer = defaultWriter()
	}
	switch cfg.layout {
	case Segments:
		s.w = newSegWriter(s)
	case Seed:
		s.seed = newSeedWriter(s)
	}
	return s, nil
}

// WriterID implements store.Shared: it returns the writer id that names this store's segments and
// under which it keeps its own integrity data; "" for a read-only store.
func (s *Store) WriterID() string { return s.writer }

// Layout returns the store's layout.
func (s *Store) Layout() Layout { return s.cfg.layout }

// Observe implements store.Observable: fn is called, under the store's
// write lock, with the records of each Append in the order they are
// placed into the writer's buffers, which is their order within each
// day's segments (or, in the seed layout, the writer's sequence).
func (s *Store) Observe(fn func(recs []store.Record)) {
	s.mu.Lock()
	s.observer = fn
	s.mu.Unlock()
}

// Append implements store.Store. In the segments layout it returns, with
// durability always, once the segment objects holding the records are
// stored (concurrent appends share them: group commit); with interval or
// none, once they are in the writer's buffer. In the seed layout it
// returns once every record's object is stored.
func (s *Store) Append(ctx context.Context, recs ...store.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.opts.ReadOnly {
		return store.ErrReadOnly
	}
	for i := range recs {
		if err := recs[i].Check(MaxLineSize); err != nil {
			return err
		}
	}
	if len(recs) == 0 {
		s.mu.Lock()
		closed := s.closed
		s.mu.Unlock()
		if closed {
			return store.ErrClosed
		}
		return nil
	}
	if s.seed != nil {
		return s.seed.append(ctx, recs)
	}
	return s.w.append(ctx, recs)
}

// isClosed reports whether Close was called.
func (s *Store) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// sync makes everything this process has appended visible in the bucket,
// so that its reads see its own writes.
func (s *Store) sync(ctx context.Context) error {
	if s.w != nil {
		return s.w.flush(ctx)
	}
	if s.seed != nil {
		return s.seed.redo(ctx)
	}
	return nil
}

// Close implements store.Store: it stores what a weaker durability mode
// left in the buffer and waits for the uploads in flight. Records that
// still cannot be stored after retries are reported in the error.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	var err error
	if s.w != nil {
		err = s.w.close()
	}
	if s.seed != nil {
		err = s.seed.close()
	}
	if s.opts.ReadOnly {
		return err
	}
	return errors.Join(err, s.flushParts())
}

// RecordWriter implements store.Shared: it returns the writer id of the segment a record was read
// from (its Path), so that a writer's integrity log can tell its own lines
// from the other writers' in a shared bucket. It reports false for records
// of the seed layout, whose keys do not name a writer.
func (s *Store) RecordWriter(rec store.Record) (string, bool) {
	rel, ok := strings.CutPrefix(rec.Path, s.cfg.prefix)
	if !ok {
		return "", false
	}
	n, ok := parseSegKey(rel)
	return n.writer, ok
}

// scrubEndpoint returns err with every mention of the endpoint replaced by
// "endpoint": the SDK's errors name the request URL, and no error repeats
// the store URL's query. errors.Is and errors.As still see err.
func scrubEndpoint(err error, endpoint string) error {
	if endpoint == "" || !strings.Contains(err.Error(), endpoint) {
		return err
	}
	return &scrubbedError{err: err, endpoint: endpoint}
}

type scrubbedError struct {
	err      error
	endpoint string
}

func (e *scrubbedError) Error() string {
	return strings.ReplaceAll(e.err.Error(), e.endpoint, "endpoint")
}

func (e *scrubbedError) Unwrap() error { return e.err }
