package export

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store/filestore"
)

// testNow is the clock of the test loggers and exports.
var testNow = time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)

// openLog opens a logger over a file store in dir, storing content
// encrypted when content is set.
func openLog(t testing.TB, dir string, content bool) *comply.Logger {
	t.Helper()
	return openLogAt(t, dir, content, func() time.Time { return testNow })
}

// openLogAt is openLog with a clock.
func openLogAt(t testing.TB, dir string, content bool, now func() time.Time) *comply.Logger {
	t.Helper()
	s, err := filestore.Open(t.Context(), dir, &filestore.Options{Durability: filestore.None})
	if err != nil {
		t.Fatal(err)
	}
	o := &comply.Options{Now: now, RetentionDays: -1}
	if content {
		k, err := seal.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		o.Keyring, o.StoreContent = seal.NewKeyring(k), true
	}
	l, err := comply.New(s, o)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

var (
	models    = []string{"gpt-4.1", "gpt-4.1-mini", "claude-sonnet-4", "gemini-2.5-pro", ""}
	providers = []string{"openai", "openai", "anthropic", "gemini", ""}
)

// interactions returns n random interactions stamped within the three
// days before testNow, from seed.
func interactions(n int, seed uint64) []comply.Interaction {
	return interactionsIn(n, seed, testNow, 72*time.Hour)
}

// interactionsIn returns n random interactions stamped within span before
// end, from seed.
func interactionsIn(n int, seed uint64, end time.Time, span time.Duration) []comply.Interaction {
	r := rand.New(rand.NewPCG(seed, 7))
	out := make([]comply.Interaction, n)
	for i := range out {
		m := r.IntN(len(models))
		in := comply.Interaction{
			Input:          fmt.Sprintf("prompt %d %d", seed, i),
			Output:         fmt.Sprintf("answer %d", r.IntN(1000)),
			Provider:       providers[m],
			Model:          models[m],
			ConversationID: fmt.Sprintf("conv-%d", r.IntN(20)),
			Time:           end.Add(-time.Duration(r.Int64N(int64(span)))),
			Latency:        time.Duration(r.IntN(5000)) * time.Millisecond / 7,
		}
		if r.IntN(5) > 0 {
			in.InputTokens, in.OutputTokens = comply.Tokens(r.IntN(4000)), comply.Tokens(r.IntN(800))
		}
		if r.IntN(7) == 0 {
			in.SafetyFailed = true
			in.DetectorsTriggered = []string{"refusal"}
			in.BlockReason = "policy"
			in.Alerts = []string{"blocked", "second alert"}
		}
		md := map[string]any{}
		if r.IntN(2) == 0 {
			md["user_id"] = fmt.Sprintf("user-%d", r.IntN(9))
		}
		if r.IntN(3) == 0 {
			md["session_id"] = r.IntN(100) // a number: promoted as its JSON text
		}
		if r.IntN(6) == 0 {
			md["tool_calls"] = []map[string]string{{"name": "get_weather", "arguments_hash": "h1"}, {"name": "search", "arguments_hash": "h2"}}
		}
		if r.IntN(9) == 0 {
			md["error"] = map[string]any{"type": "http", "status": 429, "message": "rate limited"}
		}
		if len(md) > 0 {
			in.Metadata = md
		}
		out[i] = in
	}
	return out
}

// logAll logs the interactions in batches.
func logAll(t testing.TB, l *comply.Logger, ins []comply.Interaction) {
	t.Helper()
	for b := range slices.Chunk(ins, 500) {
		if _, err := l.LogBatch(t.Context(), b...); err != nil {
			t.Fatal(err)
		}
	}
}

// parquetFiles returns the .parquet files under out, relative, sorted.
func parquetFiles(t testing.TB, out string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(out, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".parquet") {
			rel, _ := filepath.Rel(out, path)
			files = append(files, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(files)
	return files
}

// exportedRow is a row of the schema as the tests read it back.
type exportedRow struct {
	ID                 string     `parquet:"id"`
	Timestamp          time.Time  `parquet:"timestamp,timestamp(microsecond)"`
	InputHash          string     `parquet:"input_hash"`
	OutputHash         string     `parquet:"output_hash"`
	InputContent       *string    `parquet:"input_content,optional"`
	OutputContent      *string    `parquet:"output_content,optional"`
	Provider           *string    `parquet:"provider,optional"`
	Model              *string    `parquet:"model,optional"`
	ConversationID     *string    `parquet:"conversation_id,optional"`
	SafetyPassed       bool       `parquet:"safety_passed"`
	DetectorsTriggered []string   `parquet:"detectors_triggered,list"`
	BlockReason        *string    `parquet:"block_reason,optional"`
	Alerts             []string   `parquet:"alerts,list"`
	LatencyMS          float64    `parquet:"latency_ms"`
	InputTokens        *int64     `parquet:"input_tokens,optional"`
	OutputTokens       *int64     `parquet:"output_tokens,optional"`
	Metadata           string     `parquet:"metadata"`
	ToolCalls          []toolCall `parquet:"tool_calls,list"`
	WriterID           string     `parquet:"writer_id"`
	UserID             *string    `parquet:"user_id,optional"`
	SessionID          *string    `parquet:"session_id,optional"`
}

// readRows reads every row of the .parquet files under out.
func readRows(t testing.TB, out string) []exportedRow {
	t.Helper()
	var rows []exportedRow
	for _, rel := range parquetFiles(t, out) {
		f, err := os.Open(filepath.Join(out, rel))
		if err != nil {
			t.Fatal(err)
		}
		r := parquet.NewGenericReader[exportedRow](f)
		buf := make([]exportedRow, r.NumRows())
		n, err := r.Read(buf)
		if n != len(buf) {
			t.Fatalf("%s: read %d of %d rows: %v", rel, n, len(buf), err)
		}
		r.Close()
		f.Close()
		rows = append(rows, buf...)
	}
	return rows
}
