package filestore

import (
	"log/slog"
	"time"

	"github.com/complyhq/comply/store"
)

// Durability says when Append returns relative to fsync: Always once its
// records are fsynced (concurrent appends share one write and one fsync:
// an acknowledged entry survives a crash of the process or the machine);
// Interval once the records are written to the operating system, with an
// fsync every SyncInterval (a machine crash loses at most the last
// interval); None once written to the operating system, with fsync only at
// rotation and Close (a process crash loses nothing acknowledged, a machine
// crash may lose what the operating system had not yet written back).
type Durability = store.Durability

// The durability modes.
const (
	Always   = store.Always
	Interval = store.Interval
	None     = store.None
)

// ParseDurability parses "always", "interval" or "none".
func ParseDurability(s string) (Durability, error) { return store.ParseDurability(s) }

// Defaults of the Options fields.
const (
	DefaultRotationSize = 100 << 20 // the seed's rotation_size_mb=100
	DefaultSyncInterval = 100 * time.Millisecond
	DefaultMaxLineSize  = 64 << 20
)

// Options configure a Store. The zero value means the documented defaults.
type Options struct {
	// Durability is when Append returns; the default is Always.
	Durability Durability
	// SyncInterval is the fsync period of the Interval mode; default
	// DefaultSyncInterval.
	SyncInterval time.Duration
	// RotationSize is the size in bytes past which a day's file is closed
	// and the next one (audit_YYYYMMDD_NNN.jsonl) started; default
	// DefaultRotationSize.
	RotationSize int64
	// MaxLineSize bounds the lines a reader accepts; a longer line is
	// reported as corrupt. Default DefaultMaxLineSize.
	MaxLineSize int
	// ReadOnly opens the directory for reading only: no lock is taken, no
	// file is repaired, and the mutating methods return store.ErrReadOnly.
	// Readers see a consistent prefix of what a concurrent writer has
	// written, never a partial line.
	ReadOnly bool
	// ErrorLog receives what the store repairs on its own and an operator
	// should know: a torn final line cut on open (the file, the bytes cut
	// and where their copy went; never the bytes). Nil means
	// slog.Default().
	ErrorLog *slog.Logger
	// OnSync, if set, is called after every fsync round that had files to
	// sync, with its duration (the segments and the append-only blobs,
	// synced side by side): for a latency histogram. It runs on the
	// store's sync goroutine and must be fast.
	OnSync func(time.Duration)
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if r.SyncInterval <= 0 {
		r.SyncInterval = DefaultSyncInterval
	}
	if r.RotationSize <= 0 {
		r.RotationSize = DefaultRotationSize
	}
	if r.MaxLineSize <= 0 {
		r.MaxLineSize = DefaultMaxLineSize
	}
	if r.ErrorLog == nil {
		r.ErrorLog = slog.Default()
	}
	return r
}
