package s3store

import (
	"bytes"
	"compress/gzip"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/storetest"
)

func testRecs(n int, start time.Time) []segRec {
	recs := make([]segRec, n)
	for i, r := range storetest.Records(start, n) {
		recs[i] = segRec{id: r.ID, t: r.Time.UnixMicro(), line: r.Line}
	}
	return recs
}

// allLines reads a segment back the way a scan does.
func allLines(t *testing.T, body []byte) []rawLine {
	t.Helper()
	var out []rawLine
	x, err := readIndex(body)
	if err != nil {
		t.Fatalf("readIndex: %v", err)
	}
	segmentLines(x, 0, len(x.blocks), body[:x.dataEnd], func(l rawLine) bool {
		l.line = slices.Clone(l.line)
		out = append(out, l)
		return true
	})
	return out
}

func TestSegmentRoundTrip(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		n      int
		blocks int
	}{
		{"one", 1, 1},
		{"small", 64, 1},
		{"several blocks", 2000, 0},
		{"big index", 5000, 0}, // index over several CI members
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs := testRecs(tt.n, base)
			body, x := encodeSegment(recs)
			if tt.blocks > 0 && len(x.blocks) != tt.blocks {
				t.Fatalf("%d blocks, want %d", len(x.blocks), tt.blocks)
			}
			got, err := readIndex(body)
			if err != nil {
				t.Fatal(err)
			}
			if got.count != int64(tt.n) || got.minT != recs[0].t || got.maxT != recs[tt.n-1].t || !slices.Equal(got.ids, x.ids) || !slices.Equal(got.times, x.times) {
				t.Fatalf("index does not round-trip")
			}
			lines := allLines(t, body)
			if len(lines) != tt.n {
				t.Fatalf("%d lines, want %d", len(lines), tt.n)
			}
			var off int64
			for i, l := range lines {
				if l.err != nil || !bytes.Equal(l.line, recs[i].line) || l.off != off {
					t.Fatalf("line %d: %v off %d want %d", i, l.err, l.off, off)
				}
				off += int64(len(l.line)) + 1
			}
			// Any gzip reader yields exactly the JSONL lines.
			zr, err := gzip.NewReader(bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			plain, err := io.ReadAll(zr)
			if err != nil {
				t.Fatalf("gzip reader: %v", err)
			}
			var want bytes.Buffer
			for _, r := range recs {
				want.Write(r.line)
				want.WriteByte('\n')
			}
			if !bytes.Equal(plain, want.Bytes()) {
				t.Fatalf("gunzip output differs from the lines")
			}
			for i := range x.ids {
				if got.find(x.ids[i]) != i {
					t.Fatalf("find(%s) != %d", x.ids[i], i)
				}
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestSegmentGolden pins the bytes of a segment object: a change to them is
// a format change, and needs a new version. The data members are written
// uncompressed here so that the bytes do not depend on the compressor.
func TestSegmentGolden(t *testing.T) {
	t.Parallel()
	recs := []segRec{
		{id: "0199c6f8-d620-77e7-b458-943e08b4aa7b", t: 1764067121529363, line: []byte(`{"id": "0199c6f8-d620-77e7-b458-943e08b4aa7b"}`)},
		{id: "not-a-uuid", t: 1764067121529364, line: []byte(`{"id": "not-a-uuid"}`)},
	}
	gw, _ := gzip.NewWriterLevel(io.Discard, gzip.NoCompression)
	body, _ := encodeSegmentWith(recs, gw)
	got := hex.Dump(body)
	path := filepath.Join("testdata", "segment-v1.hexdump")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("index and footer bytes changed (a format change: bump the version):\n got\n%s\n want\n%s", got, want)
	}
	lines := allLines(t, body)
	if len(lines) != 2 || !bytes.Equal(lines[1].line, recs[1].line) {
		t.Fatalf("golden segment reads back %d lines", len(lines))
	}
}

func TestSegmentDamage(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	recs := testRecs(3000, base) // several blocks
	body, x := encodeSegment(recs)
	if len(x.blocks) < 3 {
		t.Fatalf("want several blocks, got %d", len(x.blocks))
	}
	tests := []struct {
		name      string
		damage    func([]byte) []byte
		indexOK   bool
		wantLines int // good lines a reader still gets
		wantErrs  int
	}{
		{"intact", func(b []byte) []byte { return b }, true, 3000, 0},
		{"flip a byte in block 1", func(b []byte) []byte { b[x.blocks[1].off+x.blocks[1].clen/2] ^= 0x40; return b }, true, 3000 - x.blocks[1].lines, 1},
		{"flip a byte in the index", func(b []byte) []byte { b[x.dataEnd+40] ^= 1; return b }, false, 3000, 0},
		{"flip a byte in the footer", func(b []byte) []byte { b[len(b)-20] ^= 1; return b }, false, 3000, 0},
		{"truncated tail", func(b []byte) []byte { return b[:len(b)-10] }, false, 3000, 1},
		{"truncated in block 2", func(b []byte) []byte { return b[:x.blocks[2].off+10] }, false, x.blocks[0].lines + x.blocks[1].lines, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := tt.damage(slices.Clone(body))
			var good, bad int
			count := func(l rawLine) bool {
				if l.err != nil {
					bad++
				} else {
					good++
				}
				return true
			}
			xi, err := readIndex(b)
			if (err == nil) != tt.indexOK {
				t.Fatalf("readIndex error = %v, want ok=%v", err, tt.indexOK)
			}
			if err == nil {
				segmentLines(xi, 0, len(xi.blocks), b[:xi.dataEnd], count)
			} else {
				wholeLines(b, count)
			}
			if good != tt.wantLines || bad != tt.wantErrs {
				t.Fatalf("read %d good lines and %d errors, want %d and %d", good, bad, tt.wantLines, tt.wantErrs)
			}
		})
	}
}

func TestSegName(t *testing.T) {
	t.Parallel()
	d := dayOf(time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC))
	n := segName{day: d, writer: "web-1.example-4242-a1b2c3", run: "1769817605123456beef", seq: 42, gen: 1, count: 64,
		minT: time.Date(2026, 1, 31, 0, 0, 5, 123456000, time.UTC).UnixMicro(),
		maxT: time.Date(2026, 1, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()}
	const want = "segments/2026/01/31/web-1.example-4242-a1b2c3_1769817605123456beef_000000000042_g1_n64_000005123456-235959999999.jsonl.gz"
	if n.key() != want {
		t.Fatalf("key = %s, want %s", n.key(), want)
	}
	if got, ok := parseSegKey(want); !ok || got != n {
		t.Fatalf("parseSegKey = %+v, %v", got, ok)
	}
	for _, bad := range []string{
		"",
		"segments/2026/01/31/",
		"segments/2026/02/30/w_1769817605123456beef_000000000001_g0_n1_000000000000-000000000000.jsonl.gz", // no such day
		"segments/2026/01/31/w_1769817605123456beef_000000000001_g0_n0_000000000000-000000000000.jsonl.gz", // no entries
		"segments/2026/01/31/w_1769817605123456beef_1_g0_n1_000000000000-000000000000.jsonl.gz",            // short seq
		"segments/2026/01/31/w_1769817605123456beef_000000000001_g00_n1_000000000000-000000000000.jsonl.gz",
		"segments/2026/01/31/w_1769817605123456beef_000000000001_g0_n1_000000000001-000000000000.jsonl.gz", // max before min
		"segments/2026/01/31/w_1769817605123456beef_000000000001_g0_n1_240000000000-240000000000.jsonl.gz", // hour 24
		"segments/2026/01/31/w_x_1769817605123456beef_000000000001_g0_n1_000000000000-000000000000.jsonl.gz",
		"segments/2026/01/31/.w_1769817605123456beef_000000000001_g0_n1_000000000000-000000000000.jsonl.gz",
		"segments/2026/01/31/w_1769817605123456beef_000000000001_g0_n1_000000000000-000000000000.jsonl",
		"segments/2026/1/31/w_1769817605123456beef_000000000001_g0_n1_000000000000-000000000000.jsonl.gz",
		"segments/2026/01/31/w_1769817605123456BEEF_000000000001_g0_n1_000000000000-000000000000.jsonl.gz",
		"segments/2026/01/31/w_176981760512345beef_000000000001_g0_n1_000000000000-000000000000.jsonl.gz",
		"segments/2026/01/31/w_000000000001_g0_n1_000000000000-000000000000.jsonl.gz",
		"2026-01-31/0199c6f8-d620-77e7-b458-943e08b4aa7b.json",
	} {
		if n, ok := parseSegKey(bad); ok {
			t.Errorf("parseSegKey(%q) accepted: %+v", bad, n)
		}
	}
}

func TestParseURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url     string
		want    config
		wantErr string
	}{
		{"s3://bucket", config{bucket: "bucket"}, ""},
		{"s3://my-bucket/prod/ai-audit/?region=us-west-2", config{bucket: "my-bucket", prefix: "prod/ai-audit/", region: "us-west-2"}, ""},
		{"s3://b.c.d/p?endpoint=http://127.0.0.1:9000", config{bucket: "b.c.d", prefix: "p/", endpoint: "http://127.0.0.1:9000", region: DefaultRegion}, ""},
		{"s3://bucket/p?layout=seed", config{bucket: "bucket", prefix: "p/", layout: Seed}, ""},
		{"s3://bucket/p?object_lock=compliance&retain_days=2555", config{bucket: "bucket", prefix: "p/", lock: Compliance, retainDays: 2555}, ""},
		{"s3://bucket/p?object_lock=GOVERNANCE&retain_days=1", config{bucket: "bucket", prefix: "p/", lock: Governance, retainDays: 1}, ""},
		{"s3://bucket/p?durability=interval&flush_ms=250&flush_bytes=1048576&writer=app-1", config{bucket: "bucket", prefix: "p/", durability: Interval, writer: "app-1"}, ""},
		{"s3://bucket/p?durability=none", config{bucket: "bucket", prefix: "p/", durability: None}, ""},
		{"file:///tmp/x", config{}, "scheme"},
		{"s3://AKIAXXXX:secretvalue@bucket/p", config{}, "credentials in the URL"},
		{"s3://bucket/p?endpoint=http://u:pw@host", config{}, "credentials in the URL"},
		{"s3://Bucket_Upper", config{}, "not allowed"},
		{"s3://ab", config{}, "3 to 63"},
		{"s3://bucket/a//b", config{}, "empty element"},
		{"s3://bucket?layout=flat", config{}, "layout"},
		{"s3://bucket?object_lock=compliance", config{}, "needs retain_days"},
		{"s3://bucket?retain_days=3", config{}, "needs object_lock"},
		{"s3://bucket?object_lock=legal&retain_days=3", config{}, "object_lock"},
		{"s3://bucket?object_lock=compliance&retain_days=0", config{}, "retain_days"},
		{"s3://bucket?writer=a_b", config{}, "writer"},
		{"s3://bucket?flush_ms=0", config{}, "flush_ms"},
		{"s3://bucket?flush_bytes=-1", config{}, "flush_bytes"},
		{"s3://bucket?durability=sometimes", config{}, "durability"},
		{"s3://bucket?layout=seed&durability=none", config{}, "durability must be always"},
		{"s3://bucket?secret_key=hunter2", config{}, "unknown parameter"},
		{"s3://bucket?region=a&region=b", config{}, "2 times"},
		{"s3://bucket?endpoint=localhost:9000", config{}, "endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := parseURL(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				for _, secret := range []string{"secretvalue", "hunter2", "pw@"} {
					if strings.Contains(err.Error(), secret) {
						t.Fatalf("error repeats a secret: %v", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.want.flushEvery == 0 {
				tt.want.flushEvery = DefaultFlushInterval
			}
			if tt.want.flushBytes == 0 {
				tt.want.flushBytes = DefaultFlushBytes
			}
			if strings.Contains(tt.url, "flush_ms=250") {
				tt.want.flushEvery = 250 * time.Millisecond
				tt.want.flushBytes = 1 << 20
			}
			if got != tt.want {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestSeedLine(t *testing.T) {
	t.Parallel()
	rec := storetest.Records(time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), 1)[0]
	pretty := strings.ReplaceAll(string(rec.Line), ", \"", ",\n  \"")
	tests := []struct {
		name string
		body string
	}{
		{"as json.dumps writes it", string(rec.Line)},
		{"trailing newline", string(rec.Line) + "\n"},
		{"CRLF", string(rec.Line) + "\r\n"},
		{"pretty", pretty},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := seedLine([]byte(tt.body))
			if err != nil || !bytes.Equal(got, rec.Line) {
				t.Fatalf("seedLine = %q, %v", got, err)
			}
		})
	}
	if _, err := seedLine([]byte("{\n\"id\": 1\n}")); err == nil {
		t.Fatal("seedLine accepted a broken object")
	}
}

func TestIDTime(t *testing.T) {
	t.Parallel()
	ts := time.Date(2026, 11, 25, 17, 38, 41, 529000000, time.UTC)
	ms, ok := idTime(fmt.Sprintf("%012x-7000-8000-000000000000", ts.UnixMilli())[:8] + "-" + fmt.Sprintf("%012x", ts.UnixMilli())[8:12] + "-7abc-8def-0123456789ab")
	if !ok || ms != ts.UnixMilli() {
		t.Fatalf("idTime = %d, %v; want %d", ms, ok, ts.UnixMilli())
	}
	for _, id := range []string{"", "0099c6f8-d620-47e7-b458-943e08b4aa7b", "not-a-uuid", "zzzzzzzz-zzzz-7zzz-8zzz-zzzzzzzzzzzz"} {
		if _, ok := idTime(id); ok {
			t.Errorf("idTime(%q) ok", id)
		}
	}
}

func TestRetainedError(t *testing.T) {
	t.Parallel()
	var err error = fmt.Errorf("delete x: %w", &RetainedError{Key: "p/k", Mode: Compliance, Until: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)})
	if !errors.Is(err, ErrRetained) {
		t.Fatal("not ErrRetained")
	}
	var re *RetainedError
	if !errors.As(err, &re) || re.Mode != Compliance {
		t.Fatal("not a *RetainedError")
	}
	if !strings.Contains(err.Error(), "2027-01-01") {
		t.Fatalf("message lacks the date: %v", err)
	}
	_ = store.ErrNotFound
}
