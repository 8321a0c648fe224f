package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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

// Time layouts accepted by parseTime, besides RFC 3339.
var naiveLayouts = []string{
	"2006-01-02T15:04:05.999999999", // the seed's naive isoformat, and without fraction
	"2006-01-02T15:04",
}

// parseTime parses a time bound: RFC 3339 ("2026-11-25T17:38:41Z",
// "...+02:00"), the seed's naive ISO form ("2026-11-25T17:38:41.537070",
// taken as UTC; a space may replace the T), or a date ("2026-11-25"). A date
// is the start of that UTC day, or, when end is set, its last instant, so
// that --end 2026-11-25 includes the whole day.
func parseTime(s string, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty time")
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		if end {
			t = t.AddDate(0, 0, 1).Add(-time.Nanosecond)
		}
		return t, nil
	}
	if len(s) > 10 && s[10] == ' ' {
		s = s[:10] + "T" + s[11:]
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	for _, layout := range naiveLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil // no zone: UTC, as the seed's naive timestamps
		}
	}
	return time.Time{}, fmt.Errorf("invalid time %q: want RFC 3339 (2026-11-25T17:38:41Z), a naive UTC time (2026-11-25T17:38:41.537070) or a date (2026-11-25)", s)
}
