package filestore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// segName returns the file name of a day's seq-th file: the seed's
// audit_YYYYMMDD.jsonl for seq 0, audit_YYYYMMDD_NNN.jsonl after rotation.
func segName(day int32, seq int) string {
	if seq == 0 {
		return fmt.Sprintf("audit_%08d.jsonl", day)
	}
	return fmt.Sprintf("audit_%08d_%03d.jsonl", day, seq)
}

// parseSegName parses a segment file name; ok is false for any other name.
func parseSegName(name string) (day int32, seq int, ok bool) {
	rest, found := strings.CutPrefix(name, "audit_")
	if !found {
		return 0, 0, false
	}
	rest, found = strings.CutSuffix(rest, ".jsonl")
	if !found || len(rest) < 8 {
		return 0, 0, false
	}
	d, err := strconv.Atoi(rest[:8])
	if err != nil || rest[0] == '+' || rest[0] == '-' {
		return 0, 0, false
	}
	if _, err := time.Parse("20060102", rest[:8]); err != nil {
		return 0, 0, false
	}
	if len(rest) == 8 {
		return int32(d), 0, true
	}
	// Rotated files are named as segName names them, and only so: any
	// other spelling would be a second name for the same segment.
	if rest[8] != '_' || len(rest) < 10 {
		return 0, 0, false
	}
	n, err := strconv.Atoi(rest[9:])
	if err != nil || n <= 0 || rest[9] == '+' || segName(int32(d), n) != name {
		return 0, 0, false
	}
	return int32(d), n, true
}

// dayOf returns the UTC date of t as YYYYMMDD, the key of its file.
func dayOf(t time.Time) int32 {
	y, m, d := t.UTC().Date()
	return int32(y*10000 + int(m)*100 + d)
}
