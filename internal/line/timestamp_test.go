package line

import (
	"reflect"
	"testing"
	"time"
)

func TestAppendTimestamp(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2026, 11, 25, 17, 38, 41, 529363000, time.UTC), "2026-11-25T17:38:41.529363"},
		{time.Date(2026, 11, 25, 17, 38, 41, 0, time.UTC), "2026-11-25T17:38:41"},
		{time.Date(2026, 11, 25, 17, 38, 41, 999, time.UTC), "2026-11-25T17:38:41"},
		{time.Date(2026, 11, 25, 17, 38, 41, 1000, time.UTC), "2026-11-25T17:38:41.000001"},
		{time.Date(2026, 11, 25, 17, 38, 41, 120000000, time.UTC), "2026-11-25T17:38:41.120000"},
		{time.Date(2026, 11, 25, 17, 38, 41, 999999999, time.UTC), "2026-11-25T17:38:41.999999"},
		{time.Date(2026, 1, 1, 0, 30, 0, 0, cet), "2025-12-31T23:30:00"},
		{time.Time{}, "0001-01-01T00:00:00"},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC), "9999-12-31T23:59:59.999999"},
		{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), "10000-01-01T00:00:00"},
		{time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), "-1-01-01T00:00:00"},
	}
	for _, tt := range tests {
		if got := string(AppendTimestamp(nil, tt.in)); got != tt.want {
			t.Errorf("AppendTimestamp(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	utc := func(y int, mo time.Month, d, h, mi, s, ns int) time.Time {
		return time.Date(y, mo, d, h, mi, s, ns, time.UTC)
	}
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2026-11-25T17:38:41.529363", utc(2026, 11, 25, 17, 38, 41, 529363000)},
		{"2026-11-25T17:38:41", utc(2026, 11, 25, 17, 38, 41, 0)},
		{"2026-11-25T17:38:41.529", utc(2026, 11, 25, 17, 38, 41, 529000000)},
		{"2026-11-25T17:38:41.5", utc(2026, 11, 25, 17, 38, 41, 500000000)},
		{"2026-11-25T17:38:41.123456789", utc(2026, 11, 25, 17, 38, 41, 123456789)},
		{"2026-11-25T17:38:41Z", utc(2026, 11, 25, 17, 38, 41, 0)},
		{"2026-11-25T17:38:41.529363Z", utc(2026, 11, 25, 17, 38, 41, 529363000)},
		{"2026-11-25T17:38:41+01:00", utc(2026, 11, 25, 16, 38, 41, 0)},
		{"2026-11-25T17:38:41.25-05:30", utc(2026, 11, 25, 23, 8, 41, 250000000)},
		{"2026-11-25T17:38:41+00:00", utc(2026, 11, 25, 17, 38, 41, 0)},
		{"2024-02-29T00:00:00", utc(2024, 2, 29, 0, 0, 0, 0)},
		{"2000-02-29T00:00:00", utc(2000, 2, 29, 0, 0, 0, 0)},
		{"0001-01-01T00:00:00", time.Time{}},
		{"9999-12-31T23:59:59.999999", utc(9999, 12, 31, 23, 59, 59, 999999000)},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp(tt.in)
		if err != nil {
			t.Errorf("ParseTimestamp(%q): %v", tt.in, err)
			continue
		}
		if !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("ParseTimestamp(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseTimestampErrors(t *testing.T) {
	for _, in := range []string{
		"",
		"2026-11-25",
		"2026-11-25 17:38:41",
		"2026-11-25t17:38:41",
		"2026-11-25T17:38",
		"2026-11-25T17:38:41.",
		"2026-11-25T17:38:41.1234567890",
		"2026-11-25T17:38:41,5",
		"2026-11-25T17:38:41Z ",
		"2026-11-25T17:38:41+01",
		"2026-11-25T17:38:41+0100",
		"2026-11-25T17:38:41+24:00",
		"2026-11-25T17:38:41+01:60",
		"2026-11-25T17:38:41z",
		"2026-13-25T17:38:41",
		"2026-00-25T17:38:41",
		"2026-11-31T17:38:41",
		"2026-02-29T00:00:00",
		"1900-02-29T00:00:00",
		"2026-11-00T17:38:41",
		"2026-11-25T24:00:00",
		"2026-11-25T23:60:00",
		"2026-11-25T23:59:60",
		"0000-01-01T00:00:00",
		"0001-01-01T00:00:00+00:01",
		"9999-12-31T23:59:59-00:01",
		"+2026-11-25T17:38:41",
		"2026-1-25T17:38:41",
		"２０２６-11-25T17:38:41",
		"2026-11-25T17:38:41.-1",
		"20x6-11-25T17:38:41",
		"x026-11-25T17:38:41",
		"202/-11-25T17:38:41",
		"2026-1:-25T17:38:41",
		"2026-11-2/T17:38:41",
		"2026-11-25T1/:38:41",
		"2026-11-25T17:3/:41",
		"2026-11-25T17:38:4/",
		"2026-11-25T17:38:41+0/:00",
		"2026-11-25T17:38:41+00:0/",
	} {
		if got, err := ParseTimestamp(in); err == nil {
			t.Errorf("ParseTimestamp(%q) = %v, want error", in, got)
		}
	}
}

func TestDaysSinceEpoch(t *testing.T) {
	for _, d := range []time.Time{
		time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(0, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(0, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC),
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC),
	} {
		if got := daysSinceEpoch(d.Year(), int(d.Month()), d.Day()) * 86400; got != d.Unix() {
			t.Errorf("daysSinceEpoch(%v)*86400 = %d, want %d", d.Format(time.DateOnly), got, d.Unix())
		}
	}
	// Every day of four centuries, around the leap year rules.
	for d := time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2001; d = d.AddDate(0, 0, 1) {
		if got := daysSinceEpoch(d.Year(), int(d.Month()), d.Day()) * 86400; got != d.Unix() {
			t.Fatalf("daysSinceEpoch(%v)*86400 = %d, want %d", d.Format(time.DateOnly), got, d.Unix())
		}
	}
}

func TestParseTimestampDeepEqual(t *testing.T) {
	// Decoded timestamps are interchangeable with time.Date(..., time.UTC),
	// down to reflect.DeepEqual.
	got, err := ParseTimestamp("2026-11-25T18:38:41.529363+01:00")
	want := time.Date(2026, 11, 25, 17, 38, 41, 529363000, time.UTC)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParseTimestamp = %#v, %v; want %#v", got, err, want)
	}
}
