package rollup

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
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
	Unhashed       int64 // entries with neither content hash (policy level metadata)
	Serious        int64 // entries whose metadata says "severity": "serious"
	First, Last    int64 // the earliest and latest entry times, unix microseconds (when Entries > 0)
	LatencySum     float64
	CostSum        float64
	Latency        Sketch // of latency_ms
	TTFT           Sketch // of ttft_ms
}

// Merge adds o to c.
func (c *Cell) Merge(o *Cell) {
	if o.Entries > 0 {
		if c.Entries == 0 || o.First < c.First {
			c.First = o.First
		}
		if c.Entries == 0 || o.Last > c.Last {
			c.Last = o.Last
		}
	}
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
	c.Unhashed += o.Unhashed
	c.Serious += o.Serious
	c.LatencySum += o.LatencySum
	c.CostSum += o.CostSum
	c.Latency.Merge(&o.Latency)
	c.TTFT.Merge(&o.TTFT)
}

func (c *Cell) add(e *line.Entry, f *Facts) {
	t := e.Timestamp.UnixMicro()
	if c.Entries == 0 || t < c.First {
		c.First = t
	}
	if c.Entries == 0 || t > c.Last {
		c.Last = t
	}
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
	if e.InputHash == "" && e.OutputHash == "" {
		c.Unhashed++
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
	// Pools hold, by hour, the ids of the (up to) PoolSize entries of the
	// hour with the smallest Rank, in Rank order: a uniform random subset
	// of the hour that a report's sample draws from.
	Pools   map[int64]*Pool
	Corrupt int64 // lines that could not be read
}

// New returns an empty rollup.
func New() *Rollup {
	return &Rollup{Cells: map[Key]*Cell{}, Detectors: map[NameKey]*Cell{}, Reasons: map[NameKey]int64{}, FailedReasons: map[NameKey]int64{}, Pools: map[int64]*Pool{}}
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
	pool := r.Pools[h]
	if pool == nil {
		pool = &Pool{}
		r.Pools[h] = pool
	}
	pool.Add(e.ID)
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
	for h, p := range o.Pools {
		if keep == nil || keep(h) {
			q := r.Pools[h]
			if q == nil {
				q = &Pool{}
				r.Pools[h] = q
			}
			q.Merge(p)
		}
	}
	if keep == nil {
		r.Corrupt += o.Corrupt
	}
}

// PoolSize bounds the ids a rollup keeps per hour (Rollup.Pools).
const PoolSize = 32

// Rank is an id's place in an hour's pool: the splitmix64 finalizer of
// its FNV-1a 64-bit hash, so that the smallest ranks of an hour are a
// uniform random subset of it (ids are unique).
func Rank(id string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(id); i++ {
		h ^= uint64(id[i])
		h *= 1099511628211
	}
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	return h ^ h>>31
}

// A Pool is the ids of the (up to) PoolSize entries of a set with the
// smallest Rank, in Rank order. The zero value is empty.
type Pool struct {
	ids   []string
	ranks []uint64
}

// IDs returns the pool's ids in Rank order (the caller must not modify it).
func (p *Pool) IDs() []string {
	if p == nil {
		return nil
	}
	return p.ids
}

// Add adds id to the pool.
func (p *Pool) Add(id string) {
	p.add(id, Rank(id))
}

func (p *Pool) add(id string, rank uint64) {
	n := len(p.ids)
	if n == PoolSize && (rank > p.ranks[n-1] || rank == p.ranks[n-1] && id >= p.ids[n-1]) {
		return
	}
	i := n
	for i > 0 && (p.ranks[i-1] > rank || p.ranks[i-1] == rank && p.ids[i-1] > id) {
		i--
	}
	if i > 0 && p.ranks[i-1] == rank && p.ids[i-1] == id {
		return
	}
	if n == PoolSize {
		p.ids, p.ranks = p.ids[:n-1], p.ranks[:n-1]
	}
	p.ids, p.ranks = slices.Insert(p.ids, i, id), slices.Insert(p.ranks, i, rank)
}

// Merge adds o's ids to p.
func (p *Pool) Merge(o *Pool) {
	for i, id := range o.ids {
		p.add(id, o.ranks[i])
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
	// Each group is read only when one of its keys appears as written
	// (the report's and Stats' own quick checks).
	stats := bytes.Contains(md, errorKey) || bytes.Contains(md, ttftKey) || bytes.Contains(md, costKey)
	who := bytes.Contains(md, userKey) || bytes.Contains(md, sessionKey) || bytes.Contains(md, severityKey)
	if !stats && !who {
		return f
	}
	var (
		errVal, ttftVal, costVal []byte
		userVal, sessVal, sevVal []byte
	)
	// Top-level keys match as encoding/json matches a struct's fields
	// (case-insensitively; the last of equal keys wins).
	ok := eachMember(md, func(key, val []byte) {
		switch {
		case bytes.EqualFold(key, []byte("error")):
			errVal = val
		case bytes.EqualFold(key, []byte("ttft_ms")):
			ttftVal = val
		case bytes.EqualFold(key, []byte("cost_usd")):
			costVal = val
		case bytes.EqualFold(key, []byte("user_id")):
			userVal = val
		case bytes.EqualFold(key, []byte("session_id")):
			sessVal = val
		case bytes.EqualFold(key, []byte("severity")):
			sevVal = val
		}
	})
	if !ok {
		return f
	}
	if who {
		f.User, f.Session = present(userVal), present(sessVal)
		if sev, isStr := jsonString(sevVal); isStr {
			f.Serious = strings.EqualFold(sev, "serious")
		}
	}
	if !stats {
		return f
	}
	var e struct {
		Type string `json:"type"`
	}
	f.Failed = len(errVal) > 0 && json.Unmarshal(errVal, &e) == nil && e.Type != ""
	f.HasTTFT = len(ttftVal) > 0 && json.Unmarshal(ttftVal, &f.TTFT) == nil && f.TTFT >= 0
	f.HasCost = len(costVal) > 0 && json.Unmarshal(costVal, &f.Cost) == nil && f.Cost >= 0
	return f
}

// present says whether a metadata value (its JSON text; nil if absent)
// names something: not null, not a blank string.
func present(val []byte) bool {
	if len(val) == 0 || string(val) == "null" {
		return false
	}
	if s, isStr := jsonString(val); isStr {
		return strings.TrimSpace(s) != ""
	}
	return true
}

// jsonString returns the text of a JSON string value.
func jsonString(val []byte) (string, bool) {
	if len(val) < 2 || val[0] != '"' {
		return "", false
	}
	if bytes.IndexByte(val, '\\') < 0 {
		return string(val[1 : len(val)-1]), true
	}
	var s string
	if json.Unmarshal(val, &s) != nil {
		return "", false
	}
	return s, true
}

// eachMember calls fn with each top-level key (decoded) and value (its
// JSON text) of the JSON object md, in order; false if md is not one
// well-formed object (fn may have been called).
func eachMember(md []byte, fn func(key, val []byte)) bool {
	i := skipSpace(md, 0)
	if i >= len(md) || md[i] != '{' {
		return false
	}
	i = skipSpace(md, i+1)
	if i < len(md) && md[i] == '}' {
		return skipSpace(md, i+1) == len(md)
	}
	for {
		if i >= len(md) || md[i] != '"' {
			return false
		}
		end := skipString(md, i)
		if end < 0 {
			return false
		}
		key := md[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			if json.Unmarshal(md[i:end], &k) != nil {
				return false
			}
			key = []byte(k)
		}
		i = skipSpace(md, end)
		if i >= len(md) || md[i] != ':' {
			return false
		}
		i = skipSpace(md, i+1)
		vend := skipValue(md, i)
		if vend < 0 {
			return false
		}
		fn(key, md[i:vend])
		i = skipSpace(md, vend)
		if i >= len(md) {
			return false
		}
		if md[i] == '}' {
			return skipSpace(md, i+1) == len(md)
		}
		if md[i] != ',' {
			return false
		}
		i = skipSpace(md, i+1)
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string that opens at b[i], or -1.
func skipString(b []byte, i int) int {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index after the value that starts at b[i], or -1.
// Scalars are checked by json.Valid; nested values for balance only (the
// line decoder has checked the metadata is valid JSON).
func skipValue(b []byte, i int) int {
	if i >= len(b) {
		return -1
	}
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end := skipString(b, j)
				if end < 0 {
					return -1
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\t' && b[j] != '\n' && b[j] != '\r' {
		j++
	}
	if j == i || !json.Valid(b[i:j]) {
		return -1
	}
	return j
}
