package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/complyhq/comply"
)

// parseSince parses a positive duration: a Go duration ("36h", "90m",
// "1h30m") or a number of days with a "d" suffix ("7d", "1.5d"), which may
// be followed by a Go duration ("1d12h"). A day is 24 hours.
func parseSince(s string) (time.Duration, error) {
	orig := s
	s = strings.TrimSpace(s)
	var d time.Duration
	if i := strings.IndexByte(s, 'd'); i >= 0 {
		days, err := strconv.ParseFloat(s[:i], 64)
		if err != nil || days < 0 || strings.ContainsAny(s[:i], "eEnNiIxX+-_") {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 7d, 36h, 90m or 1d12h", orig)
		}
		if days > 100*365 {
			return 0, fmt.Errorf("invalid duration %q: more than 100 years", orig)
		}
		d = time.Duration(days * float64(24*time.Hour))
		s = s[i+1:]
	}
	if s != "" {
		rest, err := time.ParseDuration(s)
		if err != nil || strings.HasPrefix(s, "-") || strings.HasPrefix(s, "+") {
			return 0, fmt.Errorf("invalid duration %q: want e.g. 7d, 36h, 90m or 1d12h", orig)
		}
		d += rest
	}
	if d <= 0 {
		return 0, fmt.Errorf("invalid duration %q: must be positive", orig)
	}
	return d, nil
}

// parseTime parses a time bound as comply.ParseTime does: RFC 3339, the
// seed's naive ISO form or a date, which is the start of that UTC day, or,
// when end is set, its last instant.
func parseTime(s string, end bool) (time.Time, error) {
	return comply.ParseTime(s, end)
}
