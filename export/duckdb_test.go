package export

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/complyhq/comply"
)

// duckdbDir holds the npm package that reads the export with DuckDB.
const duckdbDir = "../integration/duckdb"

// nodeWithDuckDB returns the path of node, with @duckdb/node-api installed
// in duckdbDir (make duckdb), or skips the test; under CI it fails instead.
func nodeWithDuckDB(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err == nil {
		if _, err = os.Stat(filepath.Join(duckdbDir, "node_modules", "@duckdb", "node-api")); err == nil {
			return node
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("needs node and @duckdb/node-api (make duckdb, or cd integration/duckdb && npm ci): %v", err)
	}
	t.Skipf("needs node and @duckdb/node-api (make duckdb, or cd integration/duckdb && npm ci): %v", err)
	return ""
}

// duckNum reads a number DuckDB printed as JSON: a string for a BIGINT or
// HUGEINT, a number for a DOUBLE, null for the sum of nothing.
type duckNum float64

func (n *duckNum) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch v := v.(type) {
	case nil:
		*n = 0
	case float64:
		*n = duckNum(v)
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return err
		}
		*n = duckNum(f)
	default:
		return errors.New("not a number")
	}
	return nil
}

type duckResult struct {
	Totals []struct {
		Entries, SafetyFailures, Errors duckNum
		InputTokens, OutputTokens       duckNum
		AvgLatencyMS                    duckNum `json:"avg_latency_ms"`
		DistinctIDs                     duckNum `json:"distinct_ids"`
	}
	ByModel []struct {
		Model                           string
		Entries, SafetyFailures, Errors duckNum
	} `json:"by_model"`
	ByDay     []struct{ Entries duckNum } `json:"by_day"`
	ToolCalls []struct {
		Tool  string
		Calls duckNum
	} `json:"tool_calls"`
	Schema []struct {
		ColumnName string `json:"column_name"`
		ColumnType string `json:"column_type"`
	}
}

func (r *duckResult) UnmarshalJSON(b []byte) error {
	type plain duckResult
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	// DuckDB names columns in snake case.
	fix := func(key string, v any) error {
		var rows []map[string]json.RawMessage
		if err := json.Unmarshal(raw[key], &rows); err != nil {
			return err
		}
		for _, row := range rows {
			for k, x := range row {
				switch k {
				case "safety_failures":
					row["safetyfailures"] = x
				case "input_tokens":
					row["inputtokens"] = x
				case "output_tokens":
					row["outputtokens"] = x
				}
			}
		}
		nb, _ := json.Marshal(rows)
		return json.Unmarshal(nb, v)
	}
	p := (*plain)(r)
	for key, v := range map[string]any{"totals": &p.Totals, "by_model": &p.ByModel, "by_day": &p.ByDay, "tool_calls": &p.ToolCalls, "schema": &p.Schema} {
		if err := fix(key, v); err != nil {
			return err
		}
	}
	return nil
}

// TestDuckDB reads an export made in several runs, one of them stopped
// before its watermark, with DuckDB, and checks its figures against
// comply's: the counts, sums and per-model figures equal Logger.Stats and
// the entries, and DuckDB sees the documented schema.
func TestDuckDB(t *testing.T) {
	node := nodeWithDuckDB(t)
	dir, out := t.TempDir(), t.TempDir()
	now := testNow
	clock := func() time.Time { return now }
	promote := []string{"user_id", "session_id"}
	// Hash-only entries, then entries with content, exported in runs.
	for i, content := range []bool{false, true, true} {
		now = testNow.Add(time.Duration(i) * 24 * time.Hour)
		l := openLogAt(t, dir, content, clock)
		// The first run's entries span three days; each later run's, the
		// day since the run before (after its watermark).
		span := 24 * time.Hour
		if i == 0 {
			span = 60 * time.Hour
		}
		logAll(t, l, interactionsIn(500+100*i, uint64(40+i), now, span))
		if i == 1 {
			crashBeforeWatermark = func() error { return errors.New("simulated crash") }
		}
		_, err := Parquet(t.Context(), l, out, &Options{Settle: -1, Now: clock, Promote: promote, FileRows: 200})
		crashBeforeWatermark = nil
		if (err != nil) != (i == 1) {
			t.Fatalf("run %d: %v", i, err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	l := openLogAt(t, dir, false, clock)
	res, err := Parquet(t.Context(), l, out, &Options{Settle: -1, Now: clock, Promote: promote, FileRows: 200})
	if err != nil || res.Entries != 0 {
		t.Fatalf("last run: %d exported, %v; want 0", res.Entries, err)
	}
	cmd := exec.CommandContext(t.Context(), node, "check.mjs", out)
	cmd.Dir = duckdbDir
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("node check.mjs: %v", err)
	}
	var got duckResult
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("DuckDB output %s: %v", b, err)
	}
	compareDuckDB(t, l, &got)
}

func compareDuckDB(t *testing.T, l *comply.Logger, got *duckResult) {
	t.Helper()
	st, err := l.Stats(t.Context(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var inTok, outTok int64
	tools := map[string]int64{}
	for e, err := range l.Entries(t.Context(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		if e.InputTokens != nil {
			inTok += *e.InputTokens
		}
		if e.OutputTokens != nil {
			outTok += *e.OutputTokens
		}
		md, _ := e.MetadataMap()
		if tc, ok := md["tool_calls"].([]any); ok {
			for _, c := range tc {
				tools[c.(map[string]any)["name"].(string)] += 1
			}
		}
	}
	if len(got.Totals) != 1 {
		t.Fatalf("totals: %d rows", len(got.Totals))
	}
	tot := got.Totals[0]
	checks := []struct {
		name      string
		got, want float64
	}{
		{"entries", float64(tot.Entries), float64(st.WindowEntries)},
		{"entries = total", float64(tot.Entries), float64(st.TotalEntries)},
		{"distinct ids", float64(tot.DistinctIDs), float64(st.TotalEntries)},
		{"safety failures", float64(tot.SafetyFailures), float64(st.SafetyFailures)},
		{"errors", float64(tot.Errors), float64(st.Errors)},
		{"input tokens", float64(tot.InputTokens), float64(inTok)},
		{"output tokens", float64(tot.OutputTokens), float64(outTok)},
		{"models", float64(len(got.ByModel)), float64(len(st.ByModel))},
		{"tools", float64(len(got.ToolCalls)), float64(len(tools))},
	}
	if math.Abs(float64(tot.AvgLatencyMS)-st.AvgLatencyMS) > 1e-9*st.AvgLatencyMS {
		t.Errorf("average latency: DuckDB %v, comply %v", tot.AvgLatencyMS, st.AvgLatencyMS)
	}
	for _, m := range st.ByModel {
		i := slices.IndexFunc(got.ByModel, func(g struct {
			Model                           string
			Entries, SafetyFailures, Errors duckNum
		}) bool {
			return g.Model == m.Model
		})
		if i < 0 {
			t.Errorf("model %q: not in DuckDB's answer", m.Model)
			continue
		}
		g := got.ByModel[i]
		checks = append(checks,
			struct {
				name      string
				got, want float64
			}{"entries of " + m.Model, float64(g.Entries), float64(m.Entries)},
			struct {
				name      string
				got, want float64
			}{"failures of " + m.Model, float64(g.SafetyFailures), float64(m.SafetyFailures)},
			struct {
				name      string
				got, want float64
			}{"errors of " + m.Model, float64(g.Errors), float64(m.Errors)})
	}
	for _, tc := range got.ToolCalls {
		checks = append(checks, struct {
			name      string
			got, want float64
		}{"calls of " + tc.Tool, float64(tc.Calls), float64(tools[tc.Tool])})
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: DuckDB %v, comply %v", c.name, c.got, c.want)
		}
	}
	if st.WindowEntries == 0 || st.SafetyFailures == 0 || st.Errors == 0 || inTok == 0 || len(tools) == 0 {
		t.Errorf("the data lacks a case: %+v", st)
	}
	var schema []string
	for _, c := range got.Schema {
		schema = append(schema, c.ColumnName+" "+c.ColumnType)
	}
	if !slices.Equal(schema, duckdbSchema) {
		t.Errorf("DuckDB sees the schema\n%q\nwant (docs/format.md section 7)\n%q", schema, duckdbSchema)
	}
}

// duckdbSchema is the schema as DuckDB shows it, with the dt partition
// and two promoted keys, as docs/format.md section 7 lists it.
var duckdbSchema = []string{
	"id VARCHAR",
	"timestamp TIMESTAMP WITH TIME ZONE",
	"input_hash VARCHAR",
	"output_hash VARCHAR",
	"input_content VARCHAR",
	"output_content VARCHAR",
	"provider VARCHAR",
	"model VARCHAR",
	"conversation_id VARCHAR",
	"safety_passed BOOLEAN",
	"detectors_triggered VARCHAR[]",
	"block_reason VARCHAR",
	"alerts VARCHAR[]",
	"latency_ms DOUBLE",
	"input_tokens BIGINT",
	"output_tokens BIGINT",
	"metadata VARCHAR",
	"tool_calls STRUCT(\"name\" VARCHAR, arguments_hash VARCHAR)[]",
	"writer_id VARCHAR",
	"user_id VARCHAR",
	"session_id VARCHAR",
	"dt DATE",
}
