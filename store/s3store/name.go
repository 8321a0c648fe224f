package s3store

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"crypto/rand"
	"encoding/hex"
)

// Key layout under the store's prefix (see the package documentation):
//
//	segments/YYYY/MM/DD/<writer>_<run>_<seq>_g<gen>_n<count>_<min>-<max>.jsonl.gz
//	YYYY-MM-DD/<id>.json                  (layout=seed)
//	_comply/blobs/<name>                  (sidecar blobs)
const (
	segDir   = "segments/"
	blobDir  = "_comply/blobs/"
	segExt   = ".jsonl.gz"
	seedExt  = ".json"
	seqWidth = 12
	runWidth = 20
)

// A day is a UTC date as YYYYMMDD, the partition of a record.
type day int32

func dayOf(t time.Time) day {
	y, m, d := t.UTC().Date()
	return day(y*10000 + int(m)*100 + d)
}

func dayOfMicro(us int64) day { return dayOf(time.UnixMicro(us)) }

// start returns the first microsecond of d.
func (d day) start() time.Time {
	return time.Date(int(d)/10000, time.Month(int(d)/100%100), int(d)%100, 0, 0, 0, 0, time.UTC)
}

func (d day) next() day { return dayOf(d.start().AddDate(0, 0, 1)) }

// segPrefix returns the key prefix of d's segments: "segments/YYYY/MM/DD/".
func (d day) segPrefix() string {
	return fmt.Sprintf("%s%04d/%02d/%02d/", segDir, int(d)/10000, int(d)/100%100, int(d)%100)
}

// seedPrefix returns the key prefix of d in the seed layout: "YYYY-MM-DD/".
func (d day) seedPrefix() string {
	return fmt.Sprintf("%04d-%02d-%02d/", int(d)/10000, int(d)/100%100, int(d)%100)
}

// parseSeedDay parses "YYYY-MM-DD" (the seed's date folder).
func parseSeedDay(s string) (day, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return 0, false
	}
	return dayOf(t), true
}

// A segName is what a segment's key says about it: everything a listing
// needs to count entries, prune by time and order a writer's segments,
// without reading the object.
type segName struct {
	day    day
	writer string
	run    string // the writer's run: see newRun
	seq    uint64 // 1, 2, ... within the run and day
	gen    int    // 0 as first written; +1 on each rewrite (delete, expiry)
	count  int64  // entries in the segment
	minT   int64  // earliest entry time, µs since the epoch
	maxT   int64  // latest entry time, µs since the epoch
}

// file returns the object's name within its day folder.
func (n segName) file() string {
	return fmt.Sprintf("%s_%s_%0*d_g%d_n%d_%s-%s%s", n.writer, n.run, seqWidth, n.seq, n.gen, n.count,
		timeOfDay(n.minT), timeOfDay(n.maxT), segExt)
}

// key returns the object key relative to the store's prefix.
func (n segName) key() string { return n.day.segPrefix() + n.file() }

// timeOfDay formats the time of day of us as HHMMSSffffff.
func timeOfDay(us int64) string {
	t := time.UnixMicro(us).UTC()
	return fmt.Sprintf("%02d%02d%02d%06d", t.Hour(), t.Minute(), t.Second(), t.Nanosecond()/1000)
}

// parseTimeOfDay parses HHMMSSffffff within d.
func parseTimeOfDay(d day, s string) (int64, bool) {
	if len(s) != 12 {
		return 0, false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	h, _ := strconv.Atoi(s[0:2])
	m, _ := strconv.Atoi(s[2:4])
	sec, _ := strconv.Atoi(s[4:6])
	us, _ := strconv.Atoi(s[6:12])
	if h > 23 || m > 59 || sec > 59 {
		return 0, false
	}
	return d.start().UnixMicro() + int64(((h*60+m)*60+sec)*1e6+us), true
}

// parseSegKey parses a key relative to the store's prefix; ok is false for
// any key that is not a segment.
func parseSegKey(rel string) (segName, bool) {
	rest, ok := strings.CutPrefix(rel, segDir)
	if !ok || len(rest) < 11 || rest[4] != '/' || rest[7] != '/' || rest[10] != '/' {
		return segName{}, false
	}
	t, err := time.Parse("2006/01/02", rest[:10])
	if err != nil {
		return segName{}, false
	}
	n := segName{day: dayOf(t)}
	file, ok := strings.CutSuffix(rest[11:], segExt)
	if !ok {
		return segName{}, false
	}
	parts := strings.Split(file, "_")
	if len(parts) != 6 || checkWriter(parts[0]) != nil || !checkRun(parts[1]) {
		return segName{}, false
	}
	n.writer, n.run = parts[0], parts[1]
	parts = parts[1:]
	if len(parts[1]) != seqWidth {
		return segName{}, false
	}
	if n.seq, ok = parseUint(parts[1]); !ok {
		return segName{}, false
	}
	g, ok := strings.CutPrefix(parts[2], "g")
	if !ok {
		return segName{}, false
	}
	gen, ok := parseUint(g)
	if !ok || gen > 1<<30 {
		return segName{}, false
	}
	n.gen = int(gen)
	c, ok := strings.CutPrefix(parts[3], "n")
	if !ok {
		return segName{}, false
	}
	count, ok := parseUint(c)
	if !ok || count == 0 || count > 1<<40 {
		return segName{}, false
	}
	n.count = int64(count)
	lo, hi, ok := strings.Cut(parts[4], "-")
	if !ok {
		return segName{}, false
	}
	if n.minT, ok = parseTimeOfDay(n.day, lo); !ok {
		return segName{}, false
	}
	if n.maxT, ok = parseTimeOfDay(n.day, hi); !ok || n.maxT < n.minT {
		return segName{}, false
	}
	if n.key() != rel { // one spelling per segment: no leading zeros, no '+'
		return segName{}, false
	}
	return n, true
}

func parseUint(s string) (uint64, bool) {
	if s == "" || s[0] == '+' {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

// checkWriter returns an error if w is not a valid writer id: 1 to 64
// letters, digits, '-' and '.', not starting with '.' or '-'.
func checkWriter(w string) error {
	if w == "" || len(w) > 64 || w[0] == '.' || w[0] == '-' {
		return errors.New("writer: want 1 to 64 letters, digits, '-' or '.', starting with a letter or digit")
	}
	for i := range len(w) {
		c := w[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return fmt.Errorf("writer: character %q not allowed (want letters, digits, '-' or '.')", c)
		}
	}
	return nil
}

// newRun returns the id of a writer's run (one Open): the time in µs, 16
// digits, and 4 random hex digits. Runs of one writer sort in the order
// they started, and two processes misconfigured with one writer name
// still write distinct segments.
func newRun() string {
	r := make([]byte, 2)
	rand.Read(r)
	return fmt.Sprintf("%016d%s", time.Now().UnixMicro(), hex.EncodeToString(r))
}

func checkRun(r string) bool {
	if len(r) != runWidth {
		return false
	}
	for i := range len(r) {
		c := r[i]
		if !('0' <= c && c <= '9' || i >= 16 && 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// defaultWriter returns a writer id unique to this process:
// hostname-pid-random.
func defaultWriter() string {
	host, _ := os.Hostname()
	var b strings.Builder
	for i := 0; i < len(host) && b.Len() < 32; i++ {
		c := host[i]
		switch {
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-':
			b.WriteByte(c)
		case 'A' <= c && c <= 'Z':
			b.WriteByte(c + 'a' - 'A')
		default:
			b.WriteByte('-')
		}
	}
	h := strings.Trim(b.String(), "-")
	if h == "" {
		h = "host"
	}
	r := make([]byte, 3)
	rand.Read(r)
	return fmt.Sprintf("%s-%d-%s", h, os.Getpid(), hex.EncodeToString(r))
}

// idDay returns the UTC day and millisecond that a version-7 UUID's
// timestamp names.
func idTime(id string) (ms int64, ok bool) {
	if len(id) != 36 || id[14] != '7' || id[8] != '-' || id[13] != '-' {
		return 0, false
	}
	h := id[0:8] + id[9:13]
	v, err := strconv.ParseUint(h, 16, 64)
	if err != nil {
		return 0, false
	}
	return int64(v), true
}

// seedKeyOK reports whether id can name an object in the seed layout
// without escaping its folder.
func seedKeyOK(id string) bool {
	if id == "" || len(id) > 200 {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return id != "." && id != ".."
}
