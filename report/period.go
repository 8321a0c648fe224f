package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// ParsePeriod reads a period label: a quarter "2026-Q3", a month
// "2026-11" or a year "2026", in UTC, inclusive of its last nanosecond.
func ParsePeriod(s string) (Period, error) {
	var start time.Time
	var months int
	if y, q, ok := strings.Cut(s, "-Q"); ok {
		yr, err1 := strconv.Atoi(y)
		qn, err2 := strconv.Atoi(q)
		if err1 != nil || err2 != nil || qn < 1 || qn > 4 || len(y) != 4 {
			return Period{}, fmt.Errorf("%w: period %q (want 2026-Q3, 2026-11 or 2026)", ErrInput, s)
		}
		start, months = time.Date(yr, time.Month(3*qn-2), 1, 0, 0, 0, 0, time.UTC), 3
	} else if t, err := time.Parse("2006-01", s); err == nil {
		start, months = t, 1
	} else if t, err := time.Parse("2006", s); err == nil {
		start, months = t, 12
	} else {
		return Period{}, fmt.Errorf("%w: period %q (want 2026-Q3, 2026-11 or 2026)", ErrInput, s)
	}
	return Period{Label: s, Start: start, End: start.AddDate(0, months, 0).Add(-time.Nanosecond)}, nil
}

// WriteJSON writes r as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("report: write json: %w", err)
	}
	return nil
}
