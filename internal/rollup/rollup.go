package rollup

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"time"

	"github.com/DataDog/sketches-go/ddsketch"
	"github.com/DataDog/sketches-go/ddsketch/mapping"
	"github.com/DataDog/sketches-go/ddsketch/store"

	"github.com/complyhq/comply/internal/line"
)

// Alpha is the relative accuracy of the latency sketches.
const Alpha = 0.01

var indexMapping = func() mapping.IndexMapping {
	m, err := mapping.NewLogarithmicMapping(Alpha)
	if err != nil {
		panic(err)
	}
	return m
}()

// A Sketch is a DDSketch of relative accuracy Alpha, held decoded or as
// its encoding until it is read or merged into another. The zero value is
// empty.
type Sketch struct {
	sk  *ddsketch.DDSketch
	raw []byte
}

func newSketch() *ddsketch.DDSketch {
	return ddsketch.NewDDSketch(indexMapping, store.NewDenseStore(), store.NewDenseStore())
}

// Add adds a value; NaN and infinities are ignored.
func (s *Sketch) Add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	s.decoded().Add(v)
}

// decoded returns the sketch decoded (a new empty one if none).
func (s *Sketch) decoded() *ddsketch.DDSketch {
	if s.sk == nil {
		s.sk = newSketch()
		if len(s.raw) > 0 {
			s.sk.DecodeAndMergeWith(s.raw) // checked when the rollup was decoded
		}
		s.raw = nil
	}
	return s.sk
}

// Merge adds o's values to s.
func (s *Sketch) Merge(o *Sketch) {
	switch {
	case o.sk != nil && !o.sk.IsEmpty():
		s.decoded().MergeWith(o.sk)
	case len(o.raw) > 0:
		s.decoded().DecodeAndMergeWith(o.raw)
	}
}

// Percentile returns the p-th percentile (nearest rank: the value of
// 1-based rank ceil(p*n/100) of the n values sorted), within the relative
// accuracy Alpha; 0 when the sketch is empty.
func (s *Sketch) Percentile(p int) float64 {
	if s.sk == nil && len(s.raw) == 0 {
		return 0
	}
	sk := s.decoded()
	n := int64(sk.GetCount())
	if n == 0 {
		return 0
	}
	rank := (int64(p)*n+99)/100 - 1 // 0-based
	q := 0.0
	if n > 1 {
		// The sketch yields the value of 0-based rank floor(q*(n-1));
		// the half keeps rounding from landing one rank below.
		q = min(1, (float64(max(rank, 0))+0.5)/float64(n-1))
	}
	v, err := sk.GetValueAtQuantile(q)
	if err != nil {
		return 0
	}
	return v
}

func (s *Sketch) encode(dst []byte) []byte {
	if s.sk == nil {
		return append(dst, s.raw...)
	}
	if s.sk.IsEmpty() {
		return dst
	}
	s.sk.Encode(&dst, true)
	return dst
}

// A Cell sums up a set of entries.
type Cell struct {
	Entries        int64
	SafetyFailures int64
	Errors         int64 // failed calls: an "error" object in the metadata
	InputTokens    int64 // sums of the known token counts
	OutputTokens   int64
	TTFTEntries    int64 // entries with a time to first token
	Priced         int64 // entries with a cost
	WithUser       int64 // entries whose metadata names a user_id
	WithBoth       int64 // ... a user_id and a session_id
	HashOnly       int64 // entries without stored content (hashes only)
	Keyed          int64 // entries whose input hash is keyed (KeyedPrefix)
	Serious        int64 // entries whose metadata says "severity": "serious"
	LatencySum     float64
	CostSum        float64
	Latency        Sketch // of latency_ms
	TTFT           Sketch // of ttft_ms
}

// Merge adds o to c.
func (c *Cell) Merge(o *Cell) {
	c.Entries += o.Entries
	c.SafetyFailures += o.SafetyFailures
	c.Errors += o.Errors
	c.InputTokens += o.InputTokens
	c.OutputTokens += o.OutputTokens
	c.TTFTEntries += o.TTFTEntries
	c.Priced += o.Priced
	c.WithUser += o.WithUser
	c.WithBoth += o.WithBoth
	c.HashOnly += o.HashOnly
	c.Keyed += o.Keyed
	c.Serious += o.Serious
	c.LatencySum += o.LatencySum
	c.CostSum += o.CostSum
	c.Latency.Merge(&o.Latency)
	c.TTFT.Merge(&o.TTFT)
}

func (c *Cell) add(e *line.Entry, f *Facts) {
	c.Entries++
	if !e.SafetyPassed {
		c.SafetyFailures++
	}
	if f.Failed {
		c.Errors++
	}
	if e.InputTokens != nil {
		c.InputTokens += *e.InputTokens
	}
	if e.OutputTokens != nil {
		c.OutputTokens += *e.OutputTokens
	}
	c.LatencySum += e.LatencyMS
	c.Latency.Add(e.LatencyMS)
	if f.HasTTFT {
		c.TTFTEntries++
		c.TTFT.Add(f.TTFT)
	}
	if f.HasCost {
		c.Priced++
		c.CostSum += f.Cost
	}
	if f.User {
		c.WithUser++
		if f.Session {
			c.WithBoth++
		}
	}
	if e.InputContent == "" && e.OutputContent == "" {
		c.HashOnly++
	}
	if strings.HasPrefix(e.InputHash, KeyedPrefix) {
		c.Keyed++
	}
	if f.Serious {
		c.Serious++
	}
}

// KeyedPrefix starts a keyed content hash (comply.HMACPrefix).
const KeyedPrefix = "hmac-sha256:"

// Key names a cell of a rollup: an hour (unix hours), a provider, a model
// and the safety outcome.
type Key struct {
	Hour            int64
	Provider, Model string
	SafetyFailed    bool
}

// A NameKey names a cell by hour and a detector or block reason.
type NameKey struct {
	Hour int64
	Name string
}

// A Rollup sums up a set of entries by hour.
type Rollup struct {
	Cells     map[Key]*Cell
	Detectors map[NameKey]*Cell // the entries each detector fired on
	Reasons   map[NameKey]int64 // entries by block reason
	// FailedReasons are the entries by block reason whose safety check
	// failed.
	FailedReasons map[NameKey]int64
	Corrupt       int64 // lines that could not be read
}

// New returns an empty rollup.
func New() *Rollup {
	return &Rollup{Cells: map[Key]*Cell{}, Detectors: map[NameKey]*Cell{}, Reasons: map[NameKey]int64{}, FailedReasons: map[NameKey]int64{}}
}

// Hour returns the hour of t, in hours since the epoch.
func Hour(t time.Time) int64 {
	return int64(math.Floor(float64(t.Unix()) / 3600))
}

// HourStart returns the start of hour h.
func HourStart(h int64) time.Time { return time.Unix(h*3600, 0).UTC() }

// Add counts one entry, whose metadata facts are f.
func (r *Rollup) Add(e *line.Entry, f Facts) {
	h := Hour(e.Timestamp)
	k := Key{Hour: h, Provider: e.Provider, Model: e.Model, SafetyFailed: !e.SafetyPassed}
	c := r.Cells[k]
	if c == nil {
		c = &Cell{}
		r.Cells[k] = c
	}
	c.add(e, &f)
	for i, d := range e.DetectorsTriggered {
		if dup(e.DetectorsTriggered[:i], d) {
			continue
		}
		dk := NameKey{Hour: h, Name: d}
		dc := r.Detectors[dk]
		if dc == nil {
			dc = &Cell{}
			r.Detectors[dk] = dc
		}
		dc.add(e, &f)
	}
	if e.BlockReason != "" {
		r.Reasons[NameKey{Hour: h, Name: e.BlockReason}]++
		if !e.SafetyPassed {
			r.FailedReasons[NameKey{Hour: h, Name: e.BlockReason}]++
		}
	}
}

func dup(seen []string, s string) bool {
	for _, x := range seen {
		if x == s {
			return true
		}
	}
	return false
}

// Merge adds o's cells of the hours keep accepts (all if keep is nil) to
// r; o's corrupt count only when keep is nil.
func (r *Rollup) Merge(o *Rollup, keep func(hour int64) bool) {
	for k, c := range o.Cells {
		if keep == nil || keep(k.Hour) {
			mergeInto(r.Cells, k, c)
		}
	}
	for k, c := range o.Detectors {
		if keep == nil || keep(k.Hour) {
			mergeInto(r.Detectors, k, c)
		}
	}
	for k, n := range o.Reasons {
		if keep == nil || keep(k.Hour) {
			r.Reasons[k] += n
		}
	}
	for k, n := range o.FailedReasons {
		if keep == nil || keep(k.Hour) {
			r.FailedReasons[k] += n
		}
	}
	if keep == nil {
		r.Corrupt += o.Corrupt
	}
}

func mergeInto[K comparable](m map[K]*Cell, k K, c *Cell) {
	d := m[k]
	if d == nil {
		d = &Cell{}
		m[k] = d
	}
	d.Merge(c)
}

// Facts are what Stats counts from an entry's metadata, as an
// llm.Transport records them: a failed call (an "error" object with a
// "type"), the time to first token ("ttft_ms") and the cost ("cost_usd");
// and what a compliance report counts: a "user_id" and a "session_id"
// that name something (not null, not a blank string), and "severity":
// "serious" (any case).
type Facts struct {
	Failed           bool
	TTFT, Cost       float64
	HasTTFT, HasCost bool
	User, Session    bool
	Serious          bool
}

var (
	errorKey    = []byte(`"error"`)
	ttftKey     = []byte(`"ttft_ms"`)
	costKey     = []byte(`"cost_usd"`)
	userKey     = []byte(`"user_id"`)
	sessionKey  = []byte(`"session_id"`)
	severityKey = []byte(`"severity"`)
)

// FactsOf reads the Facts of an entry's metadata. It decodes the metadata
// only when one of the keys appears in it, and ignores values of another
// shape (a caller's own "error" string is not a failed call).
func FactsOf(md json.RawMessage) Facts {
	var f Facts
	if !bytes.Contains(md, errorKey) && !bytes.Contains(md, ttftKey) && !bytes.Contains(md, costKey) &&
		!bytes.Contains(md, userKey) && !bytes.Contains(md, sessionKey) && !bytes.Contains(md, severityKey) {
		return f
	}
	var m struct {
		Error    json.RawMessage `json:"error"`
		TTFT     json.RawMessage `json:"ttft_ms"`
		Cost     json.RawMessage `json:"cost_usd"`
		User     any             `json:"user_id"`
		Session  any             `json:"session_id"`
		Severity any             `json:"severity"`
	}
	if json.Unmarshal(md, &m) != nil {
		return f
	}
	f.User, f.Session = present(m.User), present(m.Session)
	sev, _ := m.Severity.(string)
	f.Serious = strings.EqualFold(sev, "serious")
	var e struct {
		Type string `json:"type"`
	}
	f.Failed = len(m.Error) > 0 && json.Unmarshal(m.Error, &e) == nil && e.Type != ""
	f.HasTTFT = len(m.TTFT) > 0 && json.Unmarshal(m.TTFT, &f.TTFT) == nil && f.TTFT >= 0
	f.HasCost = len(m.Cost) > 0 && json.Unmarshal(m.Cost, &f.Cost) == nil && f.Cost >= 0
	return f
}

// present says whether a metadata value names something.
func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(v) != ""
	default:
		return true
	}
}
