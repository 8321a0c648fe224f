package comply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/complyhq/comply/internal/skipfilter"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/memstore"
)

// daySegments is a store.Segmented over a memory store: one segment per
// UTC day, sealed unless it is the latest day, its version bumped by every
// write. It counts the segments scanned (ScanSegment calls) and the
// records they yield.
type daySegments struct {
	*memstore.Store
	gen     atomic.Int64
	scanned atomic.Int64
	read    atomic.Int64
}

var _ store.Segmented = (*daySegments)(nil)

func dayName(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func (d *daySegments) Append(ctx context.Context, recs ...store.Record) error {
	d.gen.Add(1)
	return d.Store.Append(ctx, recs...)
}

func (d *daySegments) Delete(ctx context.Context, id string) error {
	d.gen.Add(1)
	return d.Store.Delete(ctx, id)
}

func (d *daySegments) Segments(ctx context.Context, q store.Query) ([]store.Segment, error) {
	gen := d.gen.Load()
	by := map[string]*store.Segment{}
	var names []string
	for rec, err := range d.Store.Scan(ctx, store.Query{}) {
		if err != nil {
			return nil, err
		}
		n := dayName(rec.Time)
		s := by[n]
		if s == nil {
			s = &store.Segment{Name: n, Min: rec.Time, Max: rec.Time}
			by[n] = s
			names = append(names, n)
		}
		s.Count++
		s.Min, s.Max = minTime(s.Min, rec.Time), maxTime(s.Max, rec.Time)
	}
	slices.Sort(names)
	var out []store.Segment
	for i, n := range names {
		s := by[n]
		// The version of a day changes with any write: simple and safe.
		s.Version = fmt.Sprintf("%d/%d", gen, s.Count)
		s.Sealed = i < len(names)-1
		if (q.End.IsZero() || !s.Min.After(q.End)) && (q.Start.IsZero() || !s.Max.Before(q.Start)) {
			out = append(out, *s)
		}
	}
	return out, nil
}

// Scan reads the days in order, as Segments lists them.
func (d *daySegments) Scan(ctx context.Context, q store.Query) iter.Seq2[store.Record, error] {
	return func(yield func(store.Record, error) bool) {
		segs, err := d.Segments(ctx, q)
		if err != nil {
			yield(store.Record{}, err)
			return
		}
		for _, s := range segs {
			for rec, err := range d.scanSegment(ctx, s.Name, q) {
				if !yield(rec, err) {
					return
				}
			}
		}
	}
}

func (d *daySegments) ScanSegment(ctx context.Context, name string, q store.Query) iter.Seq2[store.Record, error] {
	d.scanned.Add(1)
	return func(yield func(store.Record, error) bool) {
		for rec, err := range d.scanSegment(ctx, name, q) {
			d.read.Add(1)
			if !yield(rec, err) {
				return
			}
		}
	}
}

func (d *daySegments) scanSegment(ctx context.Context, name string, q store.Query) iter.Seq2[store.Record, error] {
	return func(yield func(store.Record, error) bool) {
		for rec, err := range d.Store.Scan(ctx, q) {
			if err == nil && dayName(rec.Time) != name {
				continue
			}
			if !yield(rec, err) {
				return
			}
		}
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// fullScan is the reference: every entry of the store, filtered by q's
// own matcher.
func fullScan(t *testing.T, l *Logger, q Query) []string {
	t.Helper()
	match, err := q.matcher()
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for rec, err := range l.store.Scan(t.Context(), store.Query{Start: q.Start, End: q.End}) {
		if err != nil {
			t.Fatal(err)
		}
		e, err := decode(rec)
		if err != nil {
			t.Fatal(err)
		}
		if match(&e) {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

func queryIDs(t *testing.T, l *Logger, q Query) []string {
	t.Helper()
	var ids []string
	for e, err := range l.Query(t.Context(), q) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, e.ID)
	}
	return ids
}

var (
	testUsers    = []any{"alice", "bob", "2", 2, 2.5, "2.50", true, nil, map[string]any{"a": 1}, ""}
	testSessions = []string{"s1", "s2", "s3"}
	testTexts    = []string{"hello", "what is the weather", "bye", "tell me a joke"}
)

func TestQuerySkipsSegmentsAndEqualsFullScan(t *testing.T) {
	tests := []struct {
		name    string
		inOrder bool // entries logged in time order, else at random times (a backfill)
		// maxRead bounds the share of the records of the segments read
		// (those whose filters may match) that the block ranges read.
		maxRead float64
	}{
		{"backfill", false, 0.95},
		{"in order", true, 0.6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testQuerySkips(t, tt.inOrder, tt.maxRead) })
	}
}

func testQuerySkips(t *testing.T, inOrder bool, maxRead float64) {
	r := rand.New(rand.NewPCG(1, 2))
	ds := &daySegments{Store: memstore.New(0)}
	l, err := New(ds, &Options{RetentionDays: -1, FilterKeys: []string{"user_id", "session_id", "tier"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	l.fspec.blockEntries = 8 // about 6 blocks a day
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	const days = 12
	var ids []string
	at := base
	when := func() time.Time {
		if inOrder {
			at = at.Add(days * 24 * time.Hour / 700)
			return at
		}
		return base.Add(time.Duration(r.Int64N(days * 24 * int64(time.Hour))))
	}
	logSome := func(n int) {
		for range n {
			md := map[string]any{}
			if r.IntN(5) > 0 {
				md["user_id"] = testUsers[r.IntN(len(testUsers))]
			}
			if r.IntN(2) == 0 {
				md["session_id"] = testSessions[r.IntN(len(testSessions))]
			}
			if r.IntN(3) == 0 {
				md["tier"] = r.IntN(3)
			}
			in := Interaction{
				Time:     when(),
				Provider: "p", Model: "m",
				Input:    testTexts[r.IntN(len(testTexts))] + fmt.Sprint(r.IntN(40)),
				Output:   testTexts[r.IntN(len(testTexts))],
				Metadata: md,
			}
			if r.IntN(4) > 0 {
				in.ConversationID = fmt.Sprintf("conv-%d", r.IntN(60))
			}
			id, err := l.Log(t.Context(), in)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
	}
	logSome(600)
	randomQuery := func() Query {
		var q Query
		if r.IntN(3) == 0 {
			q.Start = base.Add(time.Duration(r.Int64N(days * 24 * int64(time.Hour))))
			q.End = q.Start.Add(time.Duration(r.Int64N(5 * 24 * int64(time.Hour))))
		}
		switch r.IntN(6) {
		case 0:
			q.ConversationID = fmt.Sprintf("conv-%d", r.IntN(70))
		case 1:
			q.InputHash = l.Hash(testTexts[r.IntN(len(testTexts))] + fmt.Sprint(r.IntN(45)))
		case 2:
			q.OutputHash = l.Hash(testTexts[r.IntN(len(testTexts))])
		case 3:
			q.Metadata = map[string]string{"user_id": []string{"alice", "bob", "2", "2.0", "20e-1", "2.5", "2.50", "true", "null", `{"a":1}`, "", "carol"}[r.IntN(12)]}
		case 4:
			q.Metadata = map[string]string{"session_id": testSessions[r.IntN(len(testSessions))], "tier": fmt.Sprint(r.IntN(4))}
		case 5:
			q.ConversationID = fmt.Sprintf("conv-%d", r.IntN(70))
			q.Metadata = map[string]string{"nonindexed": "x"}
		}
		return q
	}
	// segmentsRead returns the segments of sq that a query with filters
	// ps reads, and their records: every segment whose filters may match
	// (it builds the missing filters first).
	segmentsRead := func(sq store.Query, ps []probe) (segs, records int64) {
		listed, err := ds.Segments(t.Context(), sq)
		if err != nil {
			t.Fatal(err)
		}
		for _, seg := range listed {
			set, err := l.segmentFilters(t.Context(), seg)
			if err != nil {
				t.Fatal(err)
			}
			if set == nil || mayMatch(set, ps) {
				segs++
				records += seg.Count
			}
		}
		return segs, records
	}
	var listed, segsRead, segRecords, read, blocks, blocksMatched int64
	for round := range 150 {
		if round%30 == 29 { // writes make filters stale: they must be rebuilt
			logSome(20)
			victim := ids[r.IntN(len(ids))]
			if err := l.Delete(t.Context(), victim); err != nil && !isNotFound(err) {
				t.Fatal(err)
			}
		}
		q := randomQuery()
		sq := store.Query{Start: q.Start, End: q.End}
		all, err := ds.Segments(t.Context(), sq)
		if err != nil {
			t.Fatal(err)
		}
		listed += int64(len(all))
		n, recs := segmentsRead(sq, q.probes())
		segsRead += n
		segRecords += recs
		for _, seg := range all {
			if set, _ := l.segmentFilters(t.Context(), seg); set != nil && len(q.probes()) > 0 && mayMatch(set, q.probes()) {
				for _, b := range set.Blocks() {
					blocks++
					if blockMayMatch(&b, q.probes()) {
						blocksMatched++
					}
				}
			}
		}
		before := ds.read.Load()
		got := queryIDs(t, l, q) // the filters are built: it only reads
		read += ds.read.Load() - before
		if want := fullScan(t, l, q); !slices.Equal(got, want) {
			t.Fatalf("round %d: query %+v: got %d entries, full scan %d", round, q, len(got), len(want))
		}
	}
	t.Logf("segments read %d of %d listed; records read %d of the %d they hold; blocks matched %d of %d in them",
		segsRead, listed, read, segRecords, blocksMatched, blocks)
	if segsRead >= listed {
		t.Errorf("no segment skipped: read %d of %d", segsRead, listed)
	}
	if blocksMatched >= blocks || float64(read) > maxRead*float64(segRecords) {
		t.Errorf("blocks not skipped: %d of %d blocks matched, %d of %d records read (want at most %.0f%%)", blocksMatched, blocks, read, segRecords, 100*maxRead)
	}
}

func isNotFound(err error) bool {
	_, ok := err.(*NotFoundError)
	return ok
}

func TestMetaFilterValuesCoverMetaMatch(t *testing.T) {
	raws := []string{`"2"`, `2`, `2.0`, `20e-1`, `-0`, `0.0`, `true`, `null`, `{"a": 1}`, `[1, 2]`, `"x\u0041"`, `1e999999999999`, `12345678901234567890`}
	texts := []string{"2", "2.0", "20e-1", "0", "-0", "true", "null", `{"a":1}`, "[1,2]", "xA", "1e999999999999", "12345678901234567890", "12345678901234567891"}
	for _, raw := range raws {
		stored := metaFilterValues(nil, []byte(raw))
		for _, text := range texts {
			if !metaMatch([]byte(`{"k":`+raw+`}`), map[string]string{"k": text}) {
				continue
			}
			if !slices.ContainsFunc(metaQueryValues(text), func(v string) bool { return slices.Contains(stored, v) }) {
				t.Errorf("value %s matches text %q but the filter values %q miss its lookups %q", raw, text, stored, metaQueryValues(text))
			}
		}
	}
}

// The filters of a segment are built once per version.
func TestFiltersBuiltOncePerVersion(t *testing.T) {
	ds := &daySegments{Store: memstore.New(0)}
	l, err := New(ds, &Options{RetentionDays: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	<-l.summariesDone // the writer's first pass, over nothing: it scans no segment
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for d := range 5 {
		if _, err := l.Log(t.Context(), Interaction{Time: base.AddDate(0, 0, d), Provider: "p", Model: "m", Input: "i", Output: "o", ConversationID: fmt.Sprint("c", d)}); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name        string
		q           Query
		wantScanned int64 // ScanSegment calls, builds included
		wantEntries int
	}{
		// Cold: 4 sealed days built, c1's day scanned, the live day scanned.
		{"cold", Query{ConversationID: "c1"}, 4 + 1 + 1, 1},
		// Warm: the filters are kept; only c1's day and the live day.
		{"warm", Query{ConversationID: "c1"}, 2, 1},
		{"absent", Query{ConversationID: "nope"}, 1, 0},
		{"live day", Query{ConversationID: "c4"}, 1, 1},
	}
	for _, tt := range tests {
		before := ds.scanned.Load()
		got := queryIDs(t, l, tt.q)
		if n := ds.scanned.Load() - before; n != tt.wantScanned || len(got) != tt.wantEntries {
			t.Errorf("%s: scanned %d segments for %d entries, want %d for %d", tt.name, n, len(got), tt.wantScanned, tt.wantEntries)
		}
	}
}

// BenchmarkFilterBuild measures building a segment's skip filters from
// decoded entries (the work a summary pass adds per entry, decoding apart).
func BenchmarkFilterBuild(b *testing.B) {
	l, err := New(memstore.New(0), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	const n = 100_000
	entries := make([]Entry, n)
	for i := range entries {
		entries[i] = Entry{
			ConversationID: fmt.Sprint("conv-", i/8),
			InputHash:      l.Hash(fmt.Sprint("question ", i)),
			OutputHash:     l.Hash(fmt.Sprint("answer ", i%1000)),
			Metadata:       []byte(fmt.Sprintf(`{"user_id":"user-%d","session_id":"s-%d","department":"finance"}`, i%5000, i/64)),
		}
	}
	sp := l.newFilterSpec()
	b.ReportAllocs()
	for b.Loop() {
		fb := sp.builder()
		for i := range entries {
			sp.add(fb, &entries[i])
		}
		fb.Set()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
}

// plainObject must find what encoding/json finds, or decline.
func TestPlainObjectAgreesWithDecoder(t *testing.T) {
	keys := []string{"user_id", "session_id"}
	tests := []string{
		`{}`, ` { } `, `{"user_id":"a"}`, `{"user_id": 2.50 , "x": {"user_id": "nested"}}`,
		`{"a":[1,{"b":"}"}],"user_id":"u","session_id":null}`, `{"user_id":"a","user_id":"b"}`,
		`{"user_id":true,"session_id":[1, 2]}`, `{"user_id":"é"}`, `{"user_id":"a\"b"}`,
		`{"user_id":}`, `{"user_id":"a",}`, `{"user_id" "a"}`, `["user_id"]`, `{"user_id":"a"} x`,
		`{"user_id":{"a":1}}`, `{"x":"{","user_id":1}`,
	}
	for _, md := range tests {
		var got []string
		ok := plainObject([]byte(md), keys, func(k int, raw []byte) { got = append(got, keys[k]+"="+string(raw)) })
		if !ok {
			continue // the decoder decides
		}
		var m map[string]json.RawMessage
		if json.Unmarshal([]byte(md), &m) != nil {
			continue // invalid: extra values only widen the filter
		}
		var want []string
		for _, k := range keys {
			if raw, found := m[k]; found {
				want = append(want, k+"="+string(raw))
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: plainObject found %q, encoding/json %q", md, got, want)
		}
	}
}

func TestFilterKindBlob(t *testing.T) {
	l, err := New(memstore.New(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	k := filterKind{l.newFilterSpec()}
	entries := func(yield func(*Entry, error) bool) {
		yield(&Entry{ConversationID: "c1", Metadata: []byte(`{"user_id":"u1"}`)}, nil)
	}
	v, err := k.build(entries)
	if err != nil {
		t.Fatal(err)
	}
	blob := k.encode(v, "v7")
	other := filterKind{(&Logger{opts: Options{FilterKeys: []string{"tenant"}}}).newFilterSpec()}
	damaged := slices.Clone(blob)
	damaged[len(damaged)/2] ^= 1
	tests := []struct {
		name    string
		kind    filterKind
		blob    []byte
		wantErr bool
	}{
		{"same keys", k, blob, false},
		{"other keys", other, blob, true},
		{"damaged", k, damaged, true},
		{"empty", k, nil, true},
	}
	for _, tt := range tests {
		got, version, err := tt.kind.decode(tt.blob)
		if (err != nil) != tt.wantErr {
			t.Fatalf("%s: err %v, want error %v", tt.name, err, tt.wantErr)
		}
		if err != nil {
			continue
		}
		s := got.(*skipfilter.Set)
		if version != "v7" || !s.MayContain(filterConversation, "c1") || !s.MayContain("metadata.user_id", "u1") || s.MayContain("metadata.user_id", "u2") && s.MayContain("metadata.user_id", "u3") {
			t.Errorf("%s: version %q, filters lost their values", tt.name, version)
		}
	}
	if _, err := k.build(func(yield func(*Entry, error) bool) { yield(nil, errors.New("damaged line")) }); err == nil {
		t.Error("a damaged line must fail the build")
	}
}
