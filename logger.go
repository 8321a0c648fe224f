package comply

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"iter"
	"log/slog"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/subjectkey"
)

// DefaultRetentionDays is the retention period when Options.RetentionDays is
// zero, as in the seed.
const DefaultRetentionDays = 365

// MaxRetentionDays bounds Options.RetentionDays: 100 years. Larger values
// are refused rather than wrapped around into a cutoff in the future.
const MaxRetentionDays = 36525

// DefaultMaxEntrySize bounds one encoded entry when Options.MaxEntrySize is
// zero.
const DefaultMaxEntrySize = 1 << 20

// MaxFutureSkew is how far after the current time an Interaction.Time may
// lie: clocks of different machines disagree a little, but an entry is never
// stamped later than that.
const MaxFutureSkew = time.Minute

// HMACPrefix starts every content hash made with Options.HashKey, in the
// style of Vault's audit hashes, so that a keyed hash is never mistaken for
// a plain SHA-256.
const HMACPrefix = "hmac-sha256:"

// Options configure a Logger. The zero value means the seed's defaults:
// hash-only, no encryption, 365 days of retention.
type Options struct {
	// Keyring encrypts content when StoreContent is on, and decrypts it in
	// DecryptContent. Nil means no encryption.
	Keyring *seal.Keyring

	// Keys, if set, provides the keyring instead of Keyring, asked anew
	// for every entry and every decryption, so that a rotated key is used
	// without a restart (a keysource.Refresher is one). A nil or empty
	// keyring from it makes Log fail rather than store content unsealed.
	Keys KeyringProvider

	// SealTo, if set, seals content to this public key (HPKE) instead of
	// encrypting it with the keyring: only the matching private key (an
	// Identity) opens it, so a writer that holds only SealTo cannot read
	// what it logged. Sealed content is comply's own form; the Python
	// library cannot read it.
	SealTo *seal.SealingKey

	// Identity opens content sealed to its public key, in DecryptContent.
	Identity *seal.Identity

	// StoreContent stores the input and output encrypted with Keyring's
	// primary key, besides their hashes. It requires a Keyring: comply
	// never writes content in the clear.
	StoreContent bool

	// Subjects, if set, seals the content of each entry whose metadata
	// names a data subject (the vault's subject key, such as user_id)
	// under that subject's own data key instead of the keyring's, so that
	// 'comply erase' can crypto-shred it (package subjectkey).
	Subjects *subjectkey.Vault

	// RetentionDays is how long entries are kept by CleanupExpired. Zero
	// means DefaultRetentionDays; a negative value keeps entries forever;
	// more than MaxRetentionDays is refused.
	RetentionDays int

	// CleanupDaily, if set, runs CleanupExpired every day at this local
	// time of day, "HH:MM" (the seed's scheduled job runs at "02:00").
	CleanupDaily string

	// HashKey, if set, makes content hashes HMAC-SHA256 under this key,
	// written as HMACPrefix followed by hex, instead of plain SHA-256: a
	// short prompt's plain hash can be reversed by guessing. The default
	// (nil) keeps the seed's plain SHA-256 for interop.
	HashKey []byte

	// MaxEntrySize bounds one encoded entry in bytes. Zero means
	// DefaultMaxEntrySize.
	MaxEntrySize int

	// Now is the clock; nil means time.Now. To backfill entries at the
	// times they happened, set Interaction.Time instead.
	Now func() time.Time

	// ErrorLog receives errors of background work (scheduled cleanup).
	// Nil means slog.Default().
	ErrorLog *slog.Logger

	// FilterKeys are the top-level metadata keys whose values get skip
	// filters in each segment, so that a Query with Metadata equality on
	// them reads only the segments that may match (conversation_id and
	// the content hashes always get one). Nil means DefaultFilterKeys;
	// an empty slice indexes no metadata key.
	FilterKeys []string

	// Policy, if set, decides per interaction what is logged (package
	// policy): the level, the required metadata keys, the largest content
	// stored. With a policy, the level decides whether content is stored
	// encrypted; a default level left unset is the Logger's own
	// (encrypted with StoreContent, else hash). A level the Logger cannot
	// honour (keyed-hash without HashKey, encrypted without Keyring) fails
	// closed: Log returns a *PolicyError. Interactions of level none are
	// counted in the store's sidecar blobs (policy.Counter) and get no
	// entry: Log returns "" and no error. See docs/policy.md.
	Policy *policy.Policy
}

// A Logger writes audit entries to a store and reads them back. Its methods
// may be called concurrently; concurrent Log calls share the store's writes
// and syncs (group commit).
type Logger struct {
	store    store.Store
	opts     Options
	hmacPool *sync.Pool // of HMAC-SHA256 hashes under opts.HashKey, if set
	stop     chan struct{}
	done     sync.WaitGroup
	once     sync.Once
	closed   atomic.Bool // set by Close

	summaries     summaryCache    // segment summaries read or built (summary.go)
	fspec         *filterSpec     // the skip filters kept (skipindex.go)
	summariesDone chan struct{}   // closed after the writer's first summary pass
	counter       *policy.Counter // counts of level none; nil if the store keeps no blobs
}

// New returns a Logger over s. The Logger owns s from then on and closes it
// in Close; if New fails, s stays the caller's to close. opts may be nil.
func New(s store.Store, opts *Options) (*Logger, error) {
	l := &Logger{store: s, stop: make(chan struct{})}
	if opts != nil {
		l.opts = *opts
	}
	o := &l.opts
	if o.StoreContent && !l.canSeal() {
		return nil, fmt.Errorf("comply: StoreContent: %w", ErrNoEncryption)
	}
	if err := l.initPolicy(); err != nil {
		return nil, err
	}
	if o.RetentionDays == 0 {
		o.RetentionDays = DefaultRetentionDays
	}
	if o.RetentionDays > MaxRetentionDays {
		return nil, &InvalidError{Field: "RetentionDays", Err: fmt.Errorf("%d days exceeds the maximum of %d (100 years)", o.RetentionDays, MaxRetentionDays)}
	}
	if o.MaxEntrySize <= 0 {
		o.MaxEntrySize = DefaultMaxEntrySize
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if key := o.HashKey; key != nil {
		l.hmacPool = &sync.Pool{New: func() any { return hmac.New(sha256.New, key) }}
	}
	if o.ErrorLog == nil {
		o.ErrorLog = slog.Default()
	}
	if o.CleanupDaily != "" {
		at, err := time.Parse("15:04", o.CleanupDaily)
		if err != nil {
			return nil, fmt.Errorf("comply: CleanupDaily %q: want HH:MM", o.CleanupDaily)
		}
		l.done.Add(1)
		go l.cleanupLoop(at.Hour(), at.Minute())
	}
	l.fspec = l.newFilterSpec()
	l.summariesDone = make(chan struct{})
	if l.writesSummaries() {
		l.done.Add(1)
		go l.summaryLoop(l.summariesDone)
	} else {
		close(l.summariesDone)
	}
	return l, nil
}

// Store returns the store the Logger writes to.
func (l *Logger) Store() store.Store { return l.store }

// RetentionDays returns the retention the Logger runs with:
// Options.RetentionDays, zero made DefaultRetentionDays; negative keeps
// entries forever.
func (l *Logger) RetentionDays() int { return l.opts.RetentionDays }

// StoresContent reports whether the Logger stores content, encrypted,
// besides the hashes (Options.StoreContent).
func (l *Logger) StoresContent() bool { return l.opts.StoreContent }

// HashesKeyed reports whether the Logger's content hashes are keyed
// (Options.HashKey set).
func (l *Logger) HashesKeyed() bool { return l.hmacPool != nil }

// Log records one interaction and returns the new entry's id once the store
// has made it durable. An interaction of policy level none gets no entry:
// Log returns "" and no error once its count is durable.
func (l *Logger) Log(ctx context.Context, in Interaction) (string, error) {
	ids, err := l.LogBatch(ctx, in)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// LogBatch records several interactions with one store append and returns
// their ids in order, once all are durable. If any interaction is invalid,
// nothing is stored; with more than one, the error is a *BatchError that
// says which. An interaction of policy level none has id "" and no entry;
// its count is made durable before the entries are appended.
func (l *Logger) LogBatch(ctx context.Context, ins ...Interaction) ([]string, error) {
	if err := l.errIfClosed("log"); err != nil {
		return nil, err
	}
	route := RouteFrom(ctx)
	recs := make([]store.Record, len(ins))
	ids := make([]string, len(ins))
	buf := getBuf()
	defer putBuf(buf)
	ends := make([]int, len(ins))
	for i := range ins {
		rec, b, err := l.record(*buf, &ins[i], route)
		if err != nil {
			if len(ins) > 1 {
				err = &BatchError{Index: i, Err: err}
			}
			return nil, err
		}
		*buf = b
		recs[i], ids[i], ends[i] = rec, rec.ID, len(b)
	}
	// The lines share one buffer, which may have moved while it grew: slice
	// them from the final one.
	start := 0
	for i, end := range ends {
		recs[i].Line = (*buf)[start:end:end]
		start = end
	}
	recs, err := l.countNone(ctx, recs)
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return ids, nil
	}
	if err := l.store.Append(ctx, recs...); err != nil {
		return nil, fmt.Errorf("comply: log: %w", err)
	}
	return ids, nil
}

// record builds the entry for in, appends its line to dst and returns the
// record, without its Line, which the caller slices from the grown buffer
// it also returns. For an interaction of policy level none, the record has
// no ID and its Path holds the deciding rule, for countNone.
func (l *Logger) record(dst []byte, in *Interaction, route string) (store.Record, []byte, error) {
	ts, err := l.stamp(in.Time)
	if err != nil {
		return store.Record{}, dst, err
	}
	if err := checkInteraction(in); err != nil {
		return store.Record{}, dst, err
	}
	md, err := encodeMetadata(in.Metadata)
	if err != nil {
		return store.Record{}, dst, err
	}
	d, err := l.decide(in, route, md)
	if err != nil {
		return store.Record{}, dst, err
	}
	if d.Level == policy.None {
		return store.Record{Time: ts, Path: d.Rule}, dst, nil
	}
	e := line.Entry{
		ID:                 newID(ts),
		Timestamp:          ts,
		Provider:           in.Provider,
		Model:              in.Model,
		ConversationID:     in.ConversationID,
		SafetyPassed:       !in.SafetyFailed,
		DetectorsTriggered: in.DetectorsTriggered,
		BlockReason:        in.BlockReason,
		Alerts:             in.Alerts,
		LatencyMS:          float64(in.Latency) / float64(time.Millisecond),
		InputTokens:        in.InputTokens,
		OutputTokens:       in.OutputTokens,
	}
	if e.Metadata, err = l.protect(in, &e, &d, md); err != nil {
		return store.Record{}, dst, err
	}
	if len(d.alerts) > 0 {
		e.Alerts = slices.Concat(in.Alerts, d.alerts)
	}
	start := len(dst)
	out, err := line.Append(dst, &e)
	if err != nil {
		var fe *line.FieldError
		if errors.As(err, &fe) {
			return store.Record{}, dst, &InvalidError{Field: fe.Field, Err: fe.Err}
		}
		return store.Record{}, dst, &InvalidError{Field: "entry", Err: err}
	}
	if n := len(out) - start; n > l.opts.MaxEntrySize {
		return store.Record{}, dst, fmt.Errorf("comply: %w: %d bytes encoded, limit %d", ErrEntryTooLarge, n, l.opts.MaxEntrySize)
	}
	return store.Record{ID: e.ID, Time: ts}, out, nil
}

// encodeMetadata returns the JSON object of an interaction's metadata, or
// nil for none.
func encodeMetadata(v any) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	md, err := line.AppendValue(nil, v)
	if err != nil {
		return nil, &InvalidError{Field: "metadata", Err: err}
	}
	if d := jsonDepth(md); d > MaxMetadataDepth {
		return nil, &InvalidError{Field: "metadata", Err: fmt.Errorf("nested %d levels deep, more than %d", d, MaxMetadataDepth)}
	}
	if string(md) == "null" { // a nil map or slice: no metadata
		return nil, nil
	}
	return md, nil
}

// stamp returns the timestamp of an entry for an interaction at t (zero
// for now): UTC, to the microsecond.
func (l *Logger) stamp(t time.Time) (time.Time, error) {
	now := l.opts.Now()
	if t.IsZero() {
		return now.UTC().Truncate(time.Microsecond), nil
	}
	switch {
	case t.After(now.Add(MaxFutureSkew)):
		return time.Time{}, &InvalidError{Field: "timestamp", Err: fmt.Errorf("%s is more than %s after the current time %s",
			t.UTC().Format(time.RFC3339Nano), MaxFutureSkew, now.UTC().Format(time.RFC3339Nano))}
	case t.Before(time.Unix(0, 0)):
		return time.Time{}, &InvalidError{Field: "timestamp", Err: fmt.Errorf("%s is before 1970, which an entry id cannot hold", t.UTC().Format(time.RFC3339Nano))}
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

// hash returns the content hash of s: SHA-256 hex as the seed writes it, or
// the prefixed HMAC when a HashKey is set.
func (l *Logger) hash(s string) string {
	pool, prefix := &sha256Pool, ""
	if l.hmacPool != nil {
		pool, prefix = l.hmacPool, HMACPrefix
	}
	h := pool.Get().(hash.Hash)
	defer pool.Put(h)
	return hexDigest(h, prefix, s)
}

// Hash returns the content hash the Logger stores for s, for finding the
// entries whose input or output was exactly s.
func (l *Logger) Hash(s string) string { return l.hash(s) }

// HashHMAC returns the keyed content hash of s under key, as stored with
// Options.HashKey.
func HashHMAC(key []byte, s string) string {
	return hexDigest(hmac.New(sha256.New, key), HMACPrefix, s)
}

var sha256Pool = sync.Pool{New: func() any { return sha256.New() }}

// hexDigest returns prefix and the hex digest of s under h, reset first,
// without copying s.
func hexDigest(h hash.Hash, prefix, s string) string {
	h.Reset()
	// The hash does not keep its input: no need to copy s to a []byte.
	h.Write(unsafe.Slice(unsafe.StringData(s), len(s)))
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	var out [len(HMACPrefix) + 2*sha256.Size]byte
	n := copy(out[:], prefix)
	hex.Encode(out[n:], sum[:])
	return string(out[:n+2*sha256.Size])
}

// Tokens returns a pointer to the token count n, for
// Interaction.InputTokens and OutputTokens: InputTokens: comply.Tokens(12).
func Tokens(n int) *int64 {
	v := int64(n)
	return &v
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func getBuf() *[]byte { b := bufPool.Get().(*[]byte); *b = (*b)[:0]; return b }

func putBuf(b *[]byte) {
	if cap(*b) <= 1<<20 {
		bufPool.Put(b)
	}
}

// Get returns the entry with the id, or a *NotFoundError.
func (l *Logger) Get(ctx context.Context, id string) (Entry, error) {
	id, err := normalizeID(id)
	if err != nil {
		return Entry{}, err
	}
	rec, err := l.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return Entry{}, &NotFoundError{ID: id}
	}
	if err != nil {
		return Entry{}, fmt.Errorf("comply: get %s: %w", id, err)
	}
	return decode(rec)
}

func decode(rec store.Record) (Entry, error) {
	var e line.Entry
	if err := line.Decode(rec.Line, &e); err != nil {
		return Entry{}, &store.CorruptionError{Path: rec.Path, Offset: rec.Offset, Err: err}
	}
	return Entry(e), nil
}

// Entries streams the entries whose timestamps lie within [start, end],
// both bounds inclusive as in the seed; a zero bound is unbounded. A damaged
// line is yielded as a *store.CorruptionError (with its file and offset) and
// the stream goes on if the caller continues.
func (l *Logger) Entries(ctx context.Context, start, end time.Time) iter.Seq2[Entry, error] {
	return l.Query(ctx, Query{Start: start, End: end})
}

// Query streams the entries that match q, filtering while it streams.
// Entries are decoded and filtered by as many goroutines as there are CPUs,
// a batch at a time, and yielded in storage order.
func (l *Logger) Query(ctx context.Context, q Query) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		if err := l.errIfClosed("query"); err != nil {
			yield(Entry{}, err)
			return
		}
		match, err := q.matcher()
		if err != nil {
			yield(Entry{}, err)
			return
		}
		batches, stop := l.decodeAhead(l.scanRecords(ctx, q, store.Query{Start: q.Start, End: q.End}), match)
		defer stop()
		for b := range batches {
			<-b.done
			for i := range b.entries {
				if !yield(b.entries[i], b.errs[i]) {
					return
				}
			}
		}
	}
}

// A decodeBatch is a run of records from a scan, decoded by a worker.
type decodeBatch struct {
	recs    []store.Record
	errs    []error // per record: a scan error, or a decode error
	entries []Entry // the matching entries, or zero where errs is set
	match   func(*Entry) bool
	done    chan struct{}
}

func (b *decodeBatch) decode() {
	out, errs := b.entries[:0], b.errs[:0]
	for i, rec := range b.recs {
		err := b.errs[i]
		var e Entry
		if err == nil {
			e, err = decode(rec)
			if err == nil && !b.match(&e) {
				continue
			}
		}
		out, errs = append(out, e), append(errs, err)
	}
	b.entries, b.errs, b.recs = out, errs, nil
	close(b.done)
}

const decodeBatchSize = 256

// decodeAhead runs the scan in a goroutine, hands batches of records to
// decoding workers, and returns the batches in scan order; a receiver waits
// for each batch's done before reading it. stop ends the pipeline.
func (l *Logger) decodeAhead(scan iter.Seq2[store.Record, error], match func(*Entry) bool) (<-chan *decodeBatch, func()) {
	ordered := make(chan *decodeBatch, 2*runtime.GOMAXPROCS(0))
	work := make(chan *decodeBatch, 2*runtime.GOMAXPROCS(0))
	quit := make(chan struct{})
	var workers sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		workers.Go(func() {
			for b := range work {
				b.decode()
			}
		})
	}
	go func() {
		defer close(ordered)
		defer close(work)
		b := &decodeBatch{match: match, done: make(chan struct{})}
		flush := func() bool {
			b.entries = make([]Entry, len(b.recs))
			select {
			case ordered <- b:
			case <-quit:
				return false
			}
			work <- b
			b = &decodeBatch{match: match, done: make(chan struct{})}
			return true
		}
		for rec, err := range scan {
			b.recs = append(b.recs, rec)
			b.errs = append(b.errs, err)
			if len(b.recs) == decodeBatchSize && !flush() {
				return
			}
		}
		if len(b.recs) > 0 {
			flush()
		}
	}()
	return ordered, func() {
		close(quit)
		for b := range ordered { // let the scan end and its files close
			<-b.done
		}
		workers.Wait()
	}
}

// Count returns the number of stored entries.
func (l *Logger) Count(ctx context.Context) (int64, error) {
	return l.store.Count(ctx)
}

// Delete removes the entry with the id, or returns a *NotFoundError.
func (l *Logger) Delete(ctx context.Context, id string) error {
	id, err := normalizeID(id)
	if err != nil {
		return err
	}
	err = l.store.Delete(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return &NotFoundError{ID: id}
	}
	return err
}

// CleanupExpired removes the entries older than the retention period and
// returns how many it removed.
func (l *Logger) CleanupExpired(ctx context.Context) (int64, error) {
	if err := l.errIfClosed("cleanup"); err != nil {
		return 0, err
	}
	if l.opts.RetentionDays < 0 {
		return 0, nil
	}
	return l.CleanupBefore(ctx, l.opts.Now().AddDate(0, 0, -l.opts.RetentionDays))
}

// CleanupBefore removes the entries stamped before cutoff and returns how
// many it removed. A cutoff after the current time is refused (an
// *InvalidError): retention never deletes what is not yet stamped.
func (l *Logger) CleanupBefore(ctx context.Context, cutoff time.Time) (int64, error) {
	if now := l.opts.Now(); cutoff.After(now) {
		return 0, &InvalidError{Field: "cutoff", Err: fmt.Errorf("%s is after the current time %s", cutoff.UTC().Format(time.RFC3339Nano), now.UTC().Format(time.RFC3339Nano))}
	}
	n, err := l.store.Expire(ctx, cutoff.UTC())
	if err != nil {
		return n, fmt.Errorf("comply: cleanup: %w", err)
	}
	return n, nil
}

// Close stops background work and closes the store. Entries acknowledged by
// Log are already durable.
func (l *Logger) Close() error {
	l.once.Do(func() { close(l.stop) })
	l.done.Wait()
	l.closed.Store(true)
	return l.store.Close()
}

// errIfClosed returns an error wrapping ErrClosed once Close was called.
// Methods that reach the store learn it from the store too; this covers
// those that may finish without it.
func (l *Logger) errIfClosed(op string) error {
	if l.closed.Load() {
		return fmt.Errorf("comply: %s: %w", op, ErrClosed)
	}
	return nil
}

// cleanupLoop runs CleanupExpired every day at hour:minute local time.
func (l *Logger) cleanupLoop(hour, minute int) {
	defer l.done.Done()
	for {
		now := l.opts.Now()
		next := time.Date(now.Year(), now.Month(), now.Day(), hour, minute, 0, 0, now.Location())
		if !next.After(now) {
			next = next.AddDate(0, 0, 1)
		}
		t := time.NewTimer(next.Sub(now))
		select {
		case <-l.stop:
			t.Stop()
			return
		case <-t.C:
		}
		n, err := l.CleanupExpired(context.Background())
		if err != nil {
			l.opts.ErrorLog.Error("comply: scheduled cleanup failed", "err", err)
			continue
		}
		l.opts.ErrorLog.Info("comply: scheduled cleanup", "deleted", n)
	}
}
