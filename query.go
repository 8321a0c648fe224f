package comply

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/complyhq/comply/internal/rollup"
)

// A Query selects entries: a time range, inclusive on both ends as in the
// seed (a zero bound is unbounded), and filters that must all match. Filters
// run while the entries stream.
type Query struct {
	Start, End time.Time

	Provider       string // exact match, if set
	Model          string // exact match, if set
	ConversationID string // exact match, if set
	SafetyFailed   bool   // only entries whose safety checks failed
	SafetyPassed   bool   // only entries whose safety checks passed
	Detector       string // only entries whose detectors_triggered has it, if set

	// InputHash and OutputHash match the stored content hash exactly:
	// the plain SHA-256 hex or "hmac-sha256:" and hex (see Logger.Hash).
	InputHash, OutputHash string

	// Metadata matches top-level metadata keys: a string value equals the
	// given text; a number equals a text that parses as the same number,
	// exactly (2 matches "2", "2.0" and "20e-1", never "2.0000001"); any
	// other value equals the text as compact JSON ("true", "null"). A
	// string "2" matches only "2": strings are never compared as numbers.
	Metadata map[string]string
}

// ParseMeta parses "key=value" into a Metadata filter entry.
func ParseMeta(kv string) (key, value string, err error) {
	k, v, ok := strings.Cut(kv, "=")
	if !ok || k == "" {
		return "", "", fmt.Errorf("metadata filter %q: want key=value", kv)
	}
	return k, v, nil
}

func (q Query) matcher() (func(*Entry) bool, error) {
	for k := range q.Metadata {
		if k == "" {
			return nil, fmt.Errorf("comply: query: empty metadata key")
		}
	}
	if q.SafetyFailed && q.SafetyPassed {
		return nil, fmt.Errorf("comply: query: safety failed and passed: give one")
	}
	return func(e *Entry) bool {
		switch {
		case q.Provider != "" && e.Provider != q.Provider,
			q.Model != "" && e.Model != q.Model,
			q.ConversationID != "" && e.ConversationID != q.ConversationID,
			q.InputHash != "" && e.InputHash != q.InputHash,
			q.OutputHash != "" && e.OutputHash != q.OutputHash,
			q.SafetyFailed && e.SafetyPassed,
			q.SafetyPassed && !e.SafetyPassed,
			q.Detector != "" && !slices.Contains(e.DetectorsTriggered, q.Detector):
			return false
		}
		return len(q.Metadata) == 0 || metaMatch(e.Metadata, q.Metadata)
	}, nil
}

// metaMatch reports whether the metadata object raw has every key of want
// with a matching value: a string equals the text, a number equals a text
// that parses as the same number (2 matches 2.0 and 20e-1), and any other
// value equals the text as compact JSON.
func metaMatch(raw json.RawMessage, want map[string]string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return false
	}
	for k, v := range want {
		got, ok := m[k]
		if !ok {
			return false
		}
		if got = bytes.TrimSpace(got); len(got) > 0 && got[0] == '"' {
			var s string
			if json.Unmarshal(got, &s) != nil || s != v {
				return false
			}
			continue
		}
		var buf bytes.Buffer
		if json.Compact(&buf, got) != nil {
			return false
		}
		if buf.String() == v {
			continue
		}
		n, isNum := parseDecimal(buf.String())
		w, wantNum := parseDecimal(v)
		if !isNum || !wantNum || n != w {
			return false
		}
	}
	return true
}

// Stats are the seed's audit-log health metrics for a window of time.
type Stats struct {
	TotalEntries   int64        `json:"total_entries"`  // in the whole store
	Since          time.Time    `json:"since"`          // start of the window
	WindowEntries  int64        `json:"window_entries"` // the seed's hourly_volume, for the window asked
	SafetyFailures int64        `json:"safety_failures"`
	AvgLatencyMS   float64      `json:"avg_latency_ms"`
	P95LatencyMS   float64      `json:"p95_latency_ms"`
	Corrupt        int64        `json:"corrupt_lines,omitempty"` // damaged lines (not the files a store does not read)
	ByModel        []ModelStats `json:"by_model"`

	// Errors counts the calls that failed (an HTTP error, an upstream
	// that could not be reached, a timeout: an "error" object in the
	// metadata, see package llm), apart from the safety failures.
	Errors int64 `json:"errors"`
	// Streams with a time to first token ("ttft_ms" in the metadata),
	// and its median and 95th percentile.
	TTFTEntries int64   `json:"ttft_entries,omitempty"`
	TTFTP50MS   float64 `json:"ttft_p50_ms,omitempty"`
	TTFTP95MS   float64 `json:"ttft_p95_ms,omitempty"`
	// Entries with a computed cost ("cost_usd" in the metadata), and the
	// sum of their costs in US dollars.
	PricedEntries int64   `json:"priced_entries,omitempty"`
	CostUSD       float64 `json:"cost_usd,omitempty"`
	// The entries by detector triggered (an entry counts once for each
	// detector it triggered) and by block reason, most first, from the
	// rollups as the rest.
	ByDetector    []NameCount `json:"by_detector,omitempty"`
	ByBlockReason []NameCount `json:"by_block_reason,omitempty"`
}

// A NameCount is a number of entries with a name: a detector, a block
// reason, a user.
type NameCount struct {
	Name    string `json:"name"`
	Entries int64  `json:"entries"`
}

// sortCounts sorts counts most first, then by name.
func sortCounts(cs []NameCount) {
	slices.SortFunc(cs, func(a, b NameCount) int {
		if a.Entries != b.Entries {
			return cmp.Compare(b.Entries, a.Entries)
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// ModelStats are the metrics of one model within a Stats window.
type ModelStats struct {
	Model          string  `json:"model"`
	Entries        int64   `json:"entries"`
	SafetyFailures int64   `json:"safety_failures"`
	AvgLatencyMS   float64 `json:"avg_latency_ms"`
	P95LatencyMS   float64 `json:"p95_latency_ms"`
	Errors         int64   `json:"errors"`
}

// Stats computes the health metrics of the entries since the given time,
// as the seed's check_audit_health does, plus latency percentiles and a
// breakdown by model. Damaged lines are counted, not fatal.
//
// Over a store that keeps segments (the file and S3 stores, memstore) it
// reads each segment's rollup (see Timeseries) and scans only the hour the
// window starts in; elsewhere it scans the window. Counts and sums are
// exact. Percentiles come from DDSketch sketches of relative accuracy
// 0.01: the p-th percentile of n latencies is within 1% of the value of
// nearest rank ceil(p*n/100) of the sorted latencies. Sums of
// floats (latency, cost) may differ from a sequential sum in the last bits.
func (l *Logger) Stats(ctx context.Context, since time.Time) (Stats, error) {
	total, err := l.Count(ctx)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{TotalEntries: total, Since: since.UTC()}
	r, err := l.rollupOf(ctx, since, time.Time{})
	if err != nil {
		return Stats{}, err
	}
	var all rollup.Cell
	perModel := map[string]*rollup.Cell{}
	for k, c := range r.Cells {
		m := perModel[k.Model]
		if m == nil {
			m = &rollup.Cell{}
			perModel[k.Model] = m
		}
		m.Merge(c)
	}
	for _, m := range perModel { // each cell's sketch decoded once
		all.Merge(m)
	}
	st.Corrupt = r.Corrupt
	st.WindowEntries = all.Entries
	st.SafetyFailures = all.SafetyFailures
	st.Errors = all.Errors
	st.AvgLatencyMS, st.P95LatencyMS = avgP95(&all)
	st.TTFTEntries = all.TTFTEntries
	st.TTFTP50MS, st.TTFTP95MS = all.TTFT.Percentile(50), all.TTFT.Percentile(95)
	st.PricedEntries, st.CostUSD = all.Priced, all.CostSum
	for model, c := range perModel {
		ms := ModelStats{Model: model, Entries: c.Entries, SafetyFailures: c.SafetyFailures, Errors: c.Errors}
		ms.AvgLatencyMS, ms.P95LatencyMS = avgP95(c)
		st.ByModel = append(st.ByModel, ms)
	}
	det, reason := map[string]int64{}, map[string]int64{}
	for k, c := range r.Detectors {
		det[k.Name] += c.Entries
	}
	for k, n := range r.Reasons {
		reason[k.Name] += n
	}
	for name, n := range det {
		st.ByDetector = append(st.ByDetector, NameCount{name, n})
	}
	for name, n := range reason {
		st.ByBlockReason = append(st.ByBlockReason, NameCount{name, n})
	}
	sortCounts(st.ByDetector)
	sortCounts(st.ByBlockReason)
	slices.SortFunc(st.ByModel, func(a, b ModelStats) int {
		if a.Entries != b.Entries {
			return int(b.Entries - a.Entries)
		}
		return strings.Compare(a.Model, b.Model)
	})
	return st, nil
}

// avgP95 returns a cell's mean latency and its 95th percentile.
func avgP95(c *rollup.Cell) (avg, p95 float64) {
	if c.Entries == 0 {
		return 0, 0
	}
	return c.LatencySum / float64(c.Entries), c.Latency.Percentile(95)
}
