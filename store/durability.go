package store

import (
	"fmt"
	"strings"
)

// Durability says when a store's Append returns relative to making its
// records durable. Each store documents what a crash can lose in each mode;
// in every mode an acknowledged record survives what the mode promises.
type Durability int

const (
	// Always makes Append return only once its records are durable (fsynced
	// to disk, or stored as an object). Concurrent appends share the work
	// (group commit). The default.
	Always Durability = iota
	// Interval makes Append return sooner and makes records durable at
	// least once per interval: a crash loses at most the last interval.
	Interval
	// None makes Append return sooner still and leaves durability to the
	// store's own schedule and to Close.
	None
)

// ParseDurability parses "always", "interval" or "none" ("" is always).
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
