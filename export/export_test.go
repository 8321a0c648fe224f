package export

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/complyhq/comply"
)

var update = flag.Bool("update", false, "rewrite testdata/schema.golden")

// noSettle exports everything up to testNow.
func noSettle(promote ...string) *Options {
	return &Options{Settle: -1, Now: func() time.Time { return testNow }, Promote: promote}
}

func TestSchemaGolden(t *testing.T) {
	l := openLog(t, t.TempDir(), false)
	logAll(t, l, interactions(50, 1))
	out := t.TempDir()
	if _, err := Parquet(t.Context(), l, out, noSettle("user_id", "session_id")); err != nil {
		t.Fatal(err)
	}
	files := parquetFiles(t, out)
	if len(files) == 0 {
		t.Fatal("no file written")
	}
	// The schema as a reader sees it, from the file's own metadata.
	f, err := os.Open(filepath.Join(out, files[0]))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	pf, err := parquet.OpenFile(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	got := pf.Schema().String() + "\n"
	if v, _ := pf.Lookup("comply.schema_version"); v != "1" {
		t.Errorf("comply.schema_version = %q, want 1", v)
	}
	for _, c := range pf.Metadata().RowGroups[0].Columns {
		if codec := c.MetaData.Codec.String(); codec != "ZSTD" {
			t.Errorf("column %v: codec %s, want ZSTD", c.MetaData.PathInSchema, codec)
		}
	}
	golden := filepath.Join("testdata", "schema.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("schema changed (bump SchemaVersion, update docs/format.md section 7, then go test -update):\n got:\n%s\nwant:\n%s", got, want)
	}
}

// TestRoundTrip reads the rows back and compares them with the entries.
func TestRoundTrip(t *testing.T) {
	for _, content := range []bool{false, true} {
		t.Run(map[bool]string{false: "hash-only", true: "content"}[content], func(t *testing.T) {
			l := openLog(t, t.TempDir(), content)
			logAll(t, l, interactions(700, 2))
			out := t.TempDir()
			res, err := Parquet(t.Context(), l, out, &Options{Settle: -1, Now: func() time.Time { return testNow }, Promote: []string{"user_id", "session_id"}, RowGroupRows: 100, FileRows: 150, Writer: "w1"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Entries != 700 || res.Skipped != 0 || res.Corrupt != 0 {
				t.Fatalf("result %+v, want 700 entries", res)
			}
			if got := parquetFiles(t, out); !slices.Equal(got, res.Files) {
				t.Errorf("files on disk %v, result says %v", got, res.Files)
			}
			rows := readRows(t, out)
			byID := map[string]exportedRow{}
			for _, r := range rows {
				byID[r.ID] = r
			}
			if len(rows) != 700 || len(byID) != 700 {
				t.Fatalf("%d rows, %d ids, want 700", len(rows), len(byID))
			}
			for e, err := range l.Entries(t.Context(), time.Time{}, time.Time{}) {
				if err != nil {
					t.Fatal(err)
				}
				checkRow(t, &e, byID[e.ID], content)
			}
		})
	}
}

func checkRow(t *testing.T, e *comply.Entry, r exportedRow, content bool) {
	t.Helper()
	opt := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	eqInt := func(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }
	switch {
	case !r.Timestamp.Equal(e.Timestamp):
		t.Errorf("%s: timestamp %v, want %v", e.ID, r.Timestamp, e.Timestamp)
	case r.InputHash != e.InputHash || r.OutputHash != e.OutputHash:
		t.Errorf("%s: hashes differ", e.ID)
	case opt(r.InputContent) != e.InputContent || opt(r.OutputContent) != e.OutputContent:
		t.Errorf("%s: content differs", e.ID)
	case content != (r.OutputContent != nil):
		t.Errorf("%s: output_content null = %v in content mode %v", e.ID, r.OutputContent == nil, content)
	case (r.Model == nil) != (e.Model == "") || opt(r.Model) != e.Model || opt(r.Provider) != e.Provider:
		t.Errorf("%s: model %v, want %q", e.ID, r.Model, e.Model)
	case opt(r.ConversationID) != e.ConversationID || opt(r.BlockReason) != e.BlockReason:
		t.Errorf("%s: conversation or block reason differ", e.ID)
	case r.SafetyPassed != e.SafetyPassed || r.LatencyMS != e.LatencyMS:
		t.Errorf("%s: safety or latency differ", e.ID)
	case len(r.DetectorsTriggered)+len(e.DetectorsTriggered) > 0 && !slices.Equal(r.DetectorsTriggered, e.DetectorsTriggered),
		len(r.Alerts)+len(e.Alerts) > 0 && !slices.Equal(r.Alerts, e.Alerts):
		t.Errorf("%s: lists %v %v, want %v %v", e.ID, r.DetectorsTriggered, r.Alerts, e.DetectorsTriggered, e.Alerts)
	case !eqInt(r.InputTokens, e.InputTokens) || !eqInt(r.OutputTokens, e.OutputTokens):
		t.Errorf("%s: tokens differ", e.ID)
	case r.Metadata != string(e.Metadata):
		t.Errorf("%s: metadata %s, want %s", e.ID, r.Metadata, e.Metadata)
	case r.WriterID != "w1":
		t.Errorf("%s: writer %q", e.ID, r.WriterID)
	}
	md, _ := e.MetadataMap()
	if u, ok := md["user_id"]; (r.UserID != nil) != ok || ok && *r.UserID != u {
		t.Errorf("%s: user_id %v, want %v", e.ID, r.UserID, u)
	}
	if s, ok := md["session_id"]; (r.SessionID != nil) != ok || ok && *r.SessionID != s.(interface{ String() string }).String() {
		t.Errorf("%s: session_id %v, want %v", e.ID, r.SessionID, s)
	}
	if _, ok := md["tool_calls"]; ok != (len(r.ToolCalls) == 2) || ok && (r.ToolCalls[0] != toolCall{"get_weather", "h1"} || r.ToolCalls[1] != toolCall{"search", "h2"}) {
		t.Errorf("%s: tool calls %v", e.ID, r.ToolCalls)
	}
}

// TestIncremental: a second run adds nothing, a run after more entries
// adds only them, and a run stopped between its files and its watermark
// is redone without duplicates.
func TestIncremental(t *testing.T) {
	now := testNow
	clock := func() time.Time { return now }
	l := openLogAt(t, t.TempDir(), false, clock)
	out := t.TempDir()
	ids := func() map[string]int {
		m := map[string]int{}
		for _, r := range readRows(t, out) {
			m[r.ID]++
		}
		return m
	}
	checkExported := func(step string) {
		t.Helper()
		n, err := l.Count(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		got := ids()
		for id, c := range got {
			if c != 1 {
				t.Fatalf("%s: entry %s exported %d times", step, id, c)
			}
		}
		if int64(len(got)) != n {
			t.Fatalf("%s: %d entries exported, the store has %d", step, len(got), n)
		}
	}
	steps := []struct {
		name    string
		log     int  // entries to log first
		crash   bool // stop before the watermark
		entries int64
	}{
		{"first", 400, false, 400},
		{"again", 0, false, 0},
		{"more", 250, false, 250},
		{"crash", 300, true, 300},
		{"redo", 120, false, 420},
		{"last", 0, false, 0},
	}
	for i, st := range steps {
		// Each step logs entries of the hour before its time, later
		// than everything exported before.
		now = testNow.Add(time.Duration(i) * time.Hour)
		if st.log > 0 {
			logAll(t, l, interactionsIn(st.log, uint64(100+i), now, time.Hour))
		}
		if st.crash {
			crashBeforeWatermark = func() error { return errors.New("simulated crash") }
		}
		res, err := Parquet(t.Context(), l, out, &Options{Settle: -1, Now: clock, FileRows: 90})
		crashBeforeWatermark = nil
		if st.crash {
			if err == nil {
				t.Fatalf("%s: no error", st.name)
			}
			// Files are durable, the watermark is not: leave a temporary
			// file too, as a kill during a write would.
			// And a part file of the stopped run that the redo writes no
			// more (run 3: the runs of "first", "more" and "crash").
			day := filepath.Join(out, "dt="+now.Format(time.DateOnly))
			if err := os.WriteFile(filepath.Join(day, ".part-local-000003-0009.parquet.tmp"), []byte("torn"), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(day, "part-local-000003-0099.parquet"), []byte("stale"), 0o600); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.Entries != st.entries {
			t.Errorf("%s: exported %d, want %d", st.name, res.Entries, st.entries)
		}
		checkExported(st.name)
	}
	for _, f := range parquetFiles(t, out) {
		if strings.Contains(f, ".tmp") {
			t.Errorf("temporary file left: %s", f)
		}
	}
	matches, _ := filepath.Glob(filepath.Join(out, "dt=*", ".*.tmp"))
	if len(matches) > 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestOptions(t *testing.T) {
	l := openLog(t, t.TempDir(), false)
	logAll(t, l, interactions(300, 3))
	tests := []struct {
		name    string
		opts    Options
		want    int64 // entries exported
		wantErr string
	}{
		{"settle keeps the last hour back", Options{Settle: time.Hour}, -1, ""},
		{"end", Options{Settle: -1, End: testNow.Add(-24 * time.Hour)}, -1, ""},
		{"start", Options{Settle: -1, Start: testNow.Add(-24 * time.Hour)}, -1, ""},
		{"bad promote", Options{Promote: []string{"user-id"}}, 0, "want letters"},
		{"promote a column", Options{Promote: []string{"Model"}}, 0, "exists already"},
		{"promote twice", Options{Promote: []string{"a", "A"}}, 0, "twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.Now = func() time.Time { return testNow }
			res, err := Parquet(t.Context(), l, t.TempDir(), &o)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The reference: the entries within the bounds, by the
			// Logger.
			end := testNow.Add(-max(o.Settle, 0))
			if !o.End.IsZero() {
				end = o.End
			}
			var want int64
			for _, err := range l.Entries(t.Context(), o.Start, end) {
				if err != nil {
					t.Fatal(err)
				}
				want++
			}
			if res.Entries != want || want == 0 || want == 300 {
				t.Errorf("exported %d, want %d (of 300)", res.Entries, want)
			}
		})
	}
}

func TestPromoteFixedPerOutput(t *testing.T) {
	l := openLog(t, t.TempDir(), false)
	logAll(t, l, interactions(20, 4))
	out := t.TempDir()
	if _, err := Parquet(t.Context(), l, out, noSettle("user_id")); err != nil {
		t.Fatal(err)
	}
	if _, err := Parquet(t.Context(), l, out, noSettle("session_id")); err == nil || !strings.Contains(err.Error(), "new location") {
		t.Fatalf("changing the promoted keys: error %v", err)
	}
}

func TestBadWatermark(t *testing.T) {
	tests := []struct{ name, text string }{
		{"not json", "{"},
		{"version", `{"version": 2, "schema_version": 1, "writers": {}}`},
		{"schema", `{"version": 1, "schema_version": 9, "writers": {}}`},
		{"mark", `{"version": 1, "schema_version": 1, "writers": {"": {"seq": 0}}}`},
	}
	l := openLog(t, t.TempDir(), false)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := t.TempDir()
			if err := os.MkdirAll(filepath.Join(out, StateDir), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(out, StateDir, WatermarkFile), []byte(tt.text), 0o600); err != nil {
				t.Fatal(err)
			}
			var we *WatermarkError
			if _, err := Parquet(t.Context(), l, out, noSettle()); !errors.As(err, &we) {
				t.Fatalf("error %v, want a *WatermarkError", err)
			}
		})
	}
}
