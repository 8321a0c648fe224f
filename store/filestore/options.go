package filestore

import (
	"fmt"
	"strings"
	"time"
)

// Durability says when Append returns relative to fsync.
type Durability int

const (
	// Always makes Append return only once its records are fsynced.
	// Concurrent appends share one write and one fsync (group commit). This
	// is the default: an acknowledged entry survives a crash of the process
	// or of the machine.
	Always Durability = iota
	// Interval makes Append return once the records are written to the
	// operating system, and fsyncs every SyncInterval: a process crash loses
	// nothing acknowledged, a machine crash loses at most the last interval.
	Interval
	// None makes Append return once the records are written to the
	// operating system and never fsyncs before Close or rotation: a process
	// crash loses nothing acknowledged, a machine crash may lose whatever
	// the operating system had not yet written back.
	None
)

// ParseDurability parses "always", "interval" or "none".
func ParseDurability(s string) (Durability, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "always":
		return Always, nil
	case "interval":
		return Interval, nil
	case "none":
		return None, nil
	}
	return 0, fmt.Errorf("durability %q: want always, interval or none", s)
}

func (d Durability) String() string {
	switch d {
	case Always:
		return "always"
	case Interval:
		return "interval"
	case None:
		return "none"
	}
	return fmt.Sprintf("Durability(%d)", int(d))
}

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
	return r
}
