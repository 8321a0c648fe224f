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
// The result must lie within Python's years 1 to 9999 (an error says
// "invalid timestamp" for this too). Fractions finer than a nanosecond are
// not accepted.
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
	return t, nil
}

// The range of timestamps Python's datetime holds, in Unix seconds.
var (
	minUnix = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	maxUnix = time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC).Unix()
)

// parseTimestampOK parses s, reporting whether it is well formed and
// within Python's years 1 to 9999.
func parseTimestampOK[T string | []byte](s T) (time.Time, bool) {
	if len(s) < 19 {
		return time.Time{}, false
	}
	century, yy := digits2(s[0], s[1]), digits2(s[2], s[3])
	year := century*100 + yy
	month := digits2(s[5], s[6])
	day := digits2(s[8], s[9])
	hour := digits2(s[11], s[12])
	minute := digits2(s[14], s[15])
	sec := digits2(s[17], s[18])
	if s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
		century < 0 || yy < 0 || month < 1 || month > 12 || day < 1 || day > daysIn(month, year) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	i, nsec := 19, 0
	if len(s) == 26 && s[19] == '.' {
		// Python's six digits, the common case.
		a, b, c := digits2(s[20], s[21]), digits2(s[22], s[23]), digits2(s[24], s[25])
		if a < 0 || b < 0 || c < 0 {
			return time.Time{}, false
		}
		nsec, i = (a*10000+b*100+c)*1000, 26
	} else if i < len(s) && s[i] == '.' {
		n := 0
		for i++; i < len(s) && '0' <= s[i] && s[i] <= '9'; i++ {
			if n++; n > 9 {
				return time.Time{}, false
			}
			nsec = nsec*10 + int(s[i]-'0')
		}
		if n == 0 {
			return time.Time{}, false
		}
		for ; n < 9; n++ {
			nsec *= 10
		}
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
			oh, om := digits2(s[i+1], s[i+2]), digits2(s[i+4], s[i+5])
			if oh < 0 || oh > 23 || om < 0 || om > 59 {
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
	if secs < minUnix || secs > maxUnix {
		return time.Time{}, false
	}
	return time.Unix(secs, int64(nsec)).UTC(), true
}

// digits2 returns the value of two decimal digits, or -1 if either is not
// a digit.
func digits2(a, b byte) int {
	a, b = a-'0', b-'0'
	if a > 9 || b > 9 {
		return -1
	}
	return int(a)*10 + int(b)
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
