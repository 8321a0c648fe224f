package s3store

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// goldenSegment returns the bytes of testdata/segment-v1.hexdump.
func goldenSegment(f *testing.F) []byte {
	f.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "segment-v1.hexdump"))
	if err != nil {
		f.Fatal(err)
	}
	var h strings.Builder
	for _, l := range strings.Split(string(b), "\n") {
		if len(l) > 10 {
			h.WriteString(strings.ReplaceAll(l[10:min(len(l), 58)], " ", ""))
		}
	}
	out, err := hex.DecodeString(h.String())
	if err != nil {
		f.Fatal(err)
	}
	return out
}

// FuzzSegment feeds arbitrary objects to the segment reader: it must never
// panic, and an index it accepts must describe the data it reads.
func FuzzSegment(f *testing.F) {
	f.Add(goldenSegment(f))
	body, _ := encodeSegment(testRecs(20, time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC)))
	f.Add(body)
	f.Add(body[:len(body)-1])
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		lines := 0
		x, err := readIndex(b)
		if err == nil {
			if x.dataEnd > int64(len(b)) || len(x.ids) != int(x.count) || len(x.times) != int(x.count) {
				t.Fatalf("accepted an index that does not fit: %+v", x)
			}
			for _, tm := range x.times {
				if tm < x.minT || tm > x.maxT {
					t.Fatalf("line time out of the bounds")
				}
			}
			for i := range x.ids {
				if x.blockOf(i) < 0 {
					t.Fatalf("line %d in no block", i)
				}
			}
			segmentLines(x, 0, len(x.blocks), b[:x.dataEnd], func(l rawLine) bool {
				if l.err == nil && bytes.IndexByte(l.line, '\n') >= 0 {
					t.Fatalf("a line holds a newline")
				}
				lines++
				return true
			})
			// What the index says survives a round trip.
			y, err := unmarshalIndex(x.marshal(), x.dataEnd)
			if err != nil || !slices.Equal(x.ids, y.ids) || !slices.Equal(x.times, y.times) || len(x.blocks) != len(y.blocks) {
				t.Fatalf("index does not round-trip: %v", err)
			}
			return
		}
		wholeLines(b, func(l rawLine) bool { lines++; return lines < 1<<20 })
	})
}

// FuzzIndex feeds arbitrary index payloads to the index decoder.
func FuzzIndex(f *testing.F) {
	_, x := encodeSegment(testRecs(10, time.Date(2026, 1, 31, 23, 59, 0, 0, time.UTC)))
	f.Add(x.marshal(), x.dataEnd)
	f.Add([]byte("CIX1"), int64(0))
	f.Fuzz(func(t *testing.T, p []byte, dataEnd int64) {
		x, err := unmarshalIndex(p, dataEnd)
		if err != nil {
			return
		}
		var sum int64
		for _, b := range x.blocks {
			sum += b.clen
		}
		if sum != dataEnd || int64(len(x.ids)) != x.count {
			t.Fatalf("accepted an inconsistent index")
		}
	})
}

// FuzzSegKey checks that a key the parser accepts is the one way of
// writing its segment.
func FuzzSegKey(f *testing.F) {
	f.Add("segments/2026/01/31/web-1-4242-a1b2c3_1769817605123456beef_000000000042_g1_n64_000005123456-235959999999.jsonl.gz")
	f.Add("segments/2028/02/29/w_1769817605123456beef_000000000001_g0_n1_000000000000-000000000000.jsonl.gz")
	f.Fuzz(func(t *testing.T, key string) {
		n, ok := parseSegKey(key)
		if !ok {
			return
		}
		if n.key() != key || n.count <= 0 || n.maxT < n.minT || dayOfMicro(n.minT) != n.day || dayOfMicro(n.maxT) != n.day {
			t.Fatalf("parseSegKey(%q) = %+v", key, n)
		}
	})
}
