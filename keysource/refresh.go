package keysource

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/complyhq/comply/seal"
)

// DefaultInterval is how often a [Refresher] reloads its source when
// RefresherOptions.Interval is zero.
const DefaultInterval = time.Minute

// DefaultTimeout bounds one background reload.
const DefaultTimeout = 30 * time.Second

// RefresherOptions configure a [Refresher]. The zero value reloads every
// DefaultInterval and reports failed reloads to slog.Default().
type RefresherOptions struct {
	// Interval is the time between reloads. Zero means DefaultInterval;
	// a negative value never reloads in the background (call Refresh).
	Interval time.Duration

	// OnError receives the error of a failed background reload; the last
	// good keyring stays in use. Nil logs it with slog.Default() at level
	// Warn. The error never holds key material.
	OnError func(error)

	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// A Refresher holds the keyring of a [Source] and reloads it on an
// interval. Its Keyring method never blocks on the source: when the
// interval has passed it returns the current keyring and starts one
// reload in the background, whose result replaces the keyring atomically.
// A Refresher is safe for concurrent use and implements the
// interface{ Keyring() *seal.Keyring } that comply.Options.Keys wants.
type Refresher struct {
	src      Source
	opts     RefresherOptions
	cur      atomic.Pointer[seal.Keyring]
	last     atomic.Int64 // UnixNano of the start of the last load
	busy     atomic.Bool  // a background reload is running
	loadMu   sync.Mutex   // one Load at a time: Sources are not safe for concurrent use
	errMu    sync.Mutex
	err      error // of the last load, nil if it succeeded
	reloaded atomic.Int64
}

// NewRefresher loads src once and returns a Refresher holding its keyring.
// The first load must succeed: without a keyring nothing can be sealed,
// and a writer must not start without one.
func NewRefresher(ctx context.Context, src Source, opts *RefresherOptions) (*Refresher, error) {
	r := &Refresher{src: src}
	if opts != nil {
		r.opts = *opts
	}
	if r.opts.Interval == 0 {
		r.opts.Interval = DefaultInterval
	}
	if r.opts.Now == nil {
		r.opts.Now = time.Now
	}
	if r.opts.OnError == nil {
		r.opts.OnError = func(err error) {
			slog.Default().Warn("comply: reloading the encryption keyring failed; the last good keyring stays in use", "source", src.String(), "err", err)
		}
	}
	if err := r.Refresh(ctx); err != nil {
		return nil, err
	}
	return r, nil
}

// Keyring returns the current keyring, and starts a background reload if
// the interval has passed since the last one started.
func (r *Refresher) Keyring() *seal.Keyring {
	kr := r.cur.Load()
	if r.opts.Interval > 0 && r.opts.Now().UnixNano()-r.last.Load() >= int64(r.opts.Interval) && r.busy.CompareAndSwap(false, true) {
		go func() {
			defer r.busy.Store(false)
			ctx, cancel := context.WithTimeout(context.Background(), DefaultTimeout)
			defer cancel()
			if err := r.Refresh(ctx); err != nil {
				r.opts.OnError(err)
			}
		}()
	}
	return kr
}

// Refresh reloads the source now. On success the new keyring replaces the
// current one; on failure the current one stays, and the error is
// returned and kept for [Refresher.Err].
func (r *Refresher) Refresh(ctx context.Context) error {
	r.loadMu.Lock()
	defer r.loadMu.Unlock()
	r.last.Store(r.opts.Now().UnixNano())
	kr, err := r.src.Load(ctx)
	if err == nil && kr.Len() == 0 {
		err = fmt.Errorf("keysource: %s: %w", r.src, seal.ErrNoKey)
	}
	r.errMu.Lock()
	r.err = err
	r.errMu.Unlock()
	if err != nil {
		return err
	}
	r.cur.Store(kr)
	r.reloaded.Add(1)
	return nil
}

// Err returns the error of the last load, or nil if it succeeded.
func (r *Refresher) Err() error {
	r.errMu.Lock()
	defer r.errMu.Unlock()
	return r.err
}

// Loads returns how many loads have succeeded, the first included.
func (r *Refresher) Loads() int64 { return r.reloaded.Load() }

// Source returns the source the Refresher reloads.
func (r *Refresher) Source() Source { return r.src }

// Load parses spec and loads its keyring once: for commands that run
// briefly and need no reloads.
func Load(ctx context.Context, spec string) (*seal.Keyring, error) {
	src, err := Parse(spec)
	if err != nil {
		return nil, err
	}
	kr, err := src.Load(ctx)
	if err != nil {
		return nil, err
	}
	if kr.Len() == 0 {
		return nil, fmt.Errorf("keysource: %s: %w", src, seal.ErrNoKey)
	}
	return kr, nil
}
