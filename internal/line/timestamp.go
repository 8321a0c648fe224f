package line

import (
	"errors"
	"strconv"
	"time"
)

// AppendTimestamp appends t, converted to UTC, as Python's isoformat()
// writes a naive datetime: "2006-01-02T15:04:05.000000", with the fraction
// omitted entirely when the microseconds are zero. Anything below a
// microsecond is truncated.
//
// Python's datetime holds years 1 to 9999 only; a year outside 0..9999 is
// written with as many digits (and sign) as it takes, which ParseTimestamp
// rejects. Append reports such a timestamp as an error.
func AppendTimestamp(dst []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if 0 <= year && year <= 9999 {
		dst = append2(dst, year/100)
		dst = append2(dst, year%100)
	} else {
		dst = strconv.AppendInt(dst, int64(year), 10)
	}
	dst = append(dst, '-')
	dst = append2(dst, int(month))
	dst = append(dst, '-')
	dst = append2(dst, day)
	dst = append(dst, 'T')
	dst = append2(dst, hour)
	dst = append(dst, ':')
	dst = append2(dst, minute)
	dst = append(dst, ':')
	dst = append2(dst, sec)
	if us := t.Nanosecond() / 1000; us != 0 {
		dst = append(dst, '.')
		dst = append2(dst, us/10000)
		dst = append2(dst, us/100%100)
		dst = append2(dst, us%100)
	}
	return dst
}

// append2 appends n, 0 <= n < 100, as two digits.
func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10), byte('0'+n%10))
}

// ParseTimestamp parses a timestamp as the line format holds it and returns
// it in UTC. It accepts:
//
//   - Python's naive isoformat, "2006-01-02T15:04:05" optionally followed by
//     a fraction of 1 to 9 digits (Python writes 6, or none), taken as UTC;
//   - RFC 3339, the same followed by "Z" or an offset "+07:00", converted to
//     UTC.
//
// The result must lie within Python's years 1 to 9999. Fractions finer
// than a nanosecond are not accepted.
func ParseTimestamp(s string) (time.Time, error) {
	return parseTimestamp(s)
}

var errTimestampRange = errors.New("year outside 1..9999")

// parseTimestamp is ParseTimestamp for strings and byte slices.
func parseTimestamp[T string | []byte](s T) (time.Time, error) {
	t, ok := parseTimestampOK(s)
	if !ok {
		return time.Time{}, errors.New("invalid timestamp " + clip([]byte(s)))
	}
	if y := t.Year(); y < 1 || y > 9999 {
		return time.Time{}, errors.New("timestamp " + clip([]byte(s)) + ": " + errTimestampRange.Error())
	}
	return t, nil
}

// parseTimestampOK parses s, reporting whether it is well formed.
func parseTimestampOK[T string | []byte](s T) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s, 0, 4)
	month, ok2 := digits(s, 5, 2)
	day, ok3 := digits(s, 8, 2)
	hour, ok4 := digits(s, 11, 2)
	minute, ok5 := digits(s, 14, 2)
	sec, ok6 := digits(s, 17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) ||
		month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && '0' <= s[j] && s[j] <= '9' {
			j++
		}
		n := j - i - 1
		if n < 1 || n > 9 {
			return time.Time{}, false
		}
		nsec, _ = digits(s, i+1, n)
		for ; n < 9; n++ {
			nsec *= 10
		}
		i = j
	}
	offset := 0
	if i < len(s) {
		switch s[i] {
		case 'Z':
			i++
		case '+', '-':
			if len(s) != i+6 || s[i+3] != ':' {
				return time.Time{}, false
			}
			oh, ok1 := digits(s, i+1, 2)
			om, ok2 := digits(s, i+4, 2)
			if !ok1 || !ok2 || oh > 23 || om > 59 {
				return time.Time{}, false
			}
			offset = oh*3600 + om*60
			if s[i] == '-' {
				offset = -offset
			}
			i += 6
		}
		if i != len(s) {
			return time.Time{}, false
		}
	}
	secs := daysSinceEpoch(year, month, day)*86400 + int64(hour*3600+minute*60+sec-offset)
	return time.Unix(secs, int64(nsec)).UTC(), true
}

// daysSinceEpoch returns the number of days from 1970-01-01 to the given
// date of the proleptic Gregorian calendar, for years 0 to 9999 (Howard
// Hinnant's days_from_civil).
func daysSinceEpoch(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := (year + 400) / 400 // year >= -1; shifted by one era to stay positive
	yoe := year + 400 - era*400
	m := month + 9
	if month > 2 {
		m = month - 3
	}
	doy := (153*m+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64((era-1)*146097+doe) - 719468
}

// digits parses the n decimal digits at s[i:i+n].
func digits[T string | []byte](s T, i, n int) (int, bool) {
	v := 0
	for k := i; k < i+n; k++ {
		c := s[k]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	return v, true
}

// daysIn returns the number of days in month of year (proleptic Gregorian).
func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
