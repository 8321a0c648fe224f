package comply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strconv"

	"github.com/complyhq/comply/internal/skipfilter"
	"github.com/complyhq/comply/store"
)

// DefaultFilterKeys are the metadata keys a Logger keeps skip filters for
// when Options.FilterKeys is nil.
var DefaultFilterKeys = []string{"user_id", "session_id"}

// The fields of a segment's skip filters: the entry's own, and one per
// indexed top-level metadata key ("metadata." and the key).
const (
	filterConversation = "conversation_id"
	filterInputHash    = "input_hash"
	filterOutputHash   = "output_hash"
	filterMetaPrefix   = "metadata."
)

// A filterSpec says which metadata keys a Logger's skip filters index.
type filterSpec struct {
	blockEntries int      // entries per block (skipfilter.DefaultBlockEntries)
	keys         []string // the metadata keys
	fields       []string // "metadata." and each key
	needles      [][]byte // each key quoted, as it appears unescaped in JSON
}

// newFilterSpec returns the spec of Options.FilterKeys.
func (l *Logger) newFilterSpec() *filterSpec {
	keys := l.opts.FilterKeys
	if keys == nil {
		keys = DefaultFilterKeys
	}
	sp := &filterSpec{blockEntries: skipfilter.DefaultBlockEntries, keys: keys}
	for _, k := range keys {
		sp.fields = append(sp.fields, filterMetaPrefix+k)
		sp.needles = append(sp.needles, []byte(`"`+k+`"`))
	}
	return sp
}

// builder returns a builder of the skip filters of the spec.
func (sp *filterSpec) builder() *skipfilter.Builder {
	return skipfilter.NewBuilder(append([]string{filterConversation, filterInputHash, filterOutputHash}, sp.fields...)...).BlockEntries(sp.blockEntries)
}

// add adds the values of e that queries can look up: a query matches an
// entry only if each of its indexed values was added.
func (sp *filterSpec) add(b *skipfilter.Builder, e *Entry) {
	b.Entry(e.Timestamp)
	if e.ConversationID != "" {
		b.Add(filterConversation, e.ConversationID)
	}
	if e.InputHash != "" {
		b.Add(filterInputHash, e.InputHash)
	}
	if e.OutputHash != "" {
		b.Add(filterOutputHash, e.OutputHash)
	}
	md := e.Metadata
	if len(sp.keys) == 0 || len(md) == 0 {
		return
	}
	// Decode only when a key may be there: a key written without escapes
	// appears as is; one with an escape needs the decoder.
	if bytes.IndexByte(md, '\\') < 0 && !slices.ContainsFunc(sp.needles, func(n []byte) bool { return bytes.Contains(md, n) }) {
		return
	}
	var vals [2]string
	addKey := func(i int, raw []byte) {
		for _, v := range metaFilterValues(vals[:0], raw) {
			b.Add(sp.fields[i], v)
		}
	}
	if plainObject(md, sp.keys, addKey) {
		return
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(md, &m) != nil {
		return // matches no metadata filter (see metaMatch)
	}
	for i, k := range sp.keys {
		if raw, ok := m[k]; ok {
			addKey(i, raw)
		}
	}
}

// plainObject calls fn with the raw value of each top-level key of the
// object md that is one of keys (the last one, if repeated), and reports
// true, when md is a plain object: ASCII only, no escapes, simple values
// (strings, numbers, literals, nested objects and arrays). Otherwise it
// calls nothing and reports false, and the caller decodes md. A plain
// object is read as encoding/json reads it, or (when md is not valid JSON)
// gives values that only make a filter say "may be present" more often.
func plainObject(md []byte, keys []string, fn func(key int, raw []byte)) bool {
	if !plain(md) {
		return false
	}
	i := skipSpace(md, 0)
	if i >= len(md) || md[i] != '{' {
		return false
	}
	type kv struct {
		k   int // index in keys
		raw []byte
	}
	var found [4]kv
	got := found[:0]
	i = skipSpace(md, i+1)
	if i < len(md) && md[i] == '}' {
		return skipSpace(md, i+1) == len(md)
	}
	for {
		if i >= len(md) || md[i] != '"' {
			return false
		}
		end := bytes.IndexByte(md[i+1:], '"')
		if end < 0 {
			return false
		}
		key := md[i+1 : i+1+end]
		i = skipSpace(md, i+end+2)
		if i >= len(md) || md[i] != ':' {
			return false
		}
		i = skipSpace(md, i+1)
		j, ok := skipValue(md, i)
		if !ok {
			return false
		}
		for n, k := range keys {
			if string(key) == k {
				got = append(got, kv{n, md[i:j]})
			}
		}
		i = skipSpace(md, j)
		if i >= len(md) {
			return false
		}
		if md[i] == '}' {
			if skipSpace(md, i+1) != len(md) {
				return false
			}
			break
		}
		if md[i] != ',' {
			return false
		}
		i = skipSpace(md, i+1)
	}
	for n, f := range got {
		last := true
		for _, later := range got[n+1:] {
			last = last && later.k != f.k
		}
		if last {
			fn(f.k, f.raw)
		}
	}
	return true
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipValue returns the end of the value at b[i:], which has no escapes:
// a string, or a scalar, object or array up to its end at depth 0.
func skipValue(b []byte, i int) (int, bool) {
	start, depth := i, 0
	for i < len(b) {
		switch c := b[i]; {
		case c == '"':
			end := bytes.IndexByte(b[i+1:], '"')
			if end < 0 {
				return 0, false
			}
			i += end + 2
		case c == '{' || c == '[':
			depth++
			i++
		case c == '}' || c == ']':
			if depth == 0 {
				return i, i > start
			}
			depth--
			i++
		case depth == 0 && (c == ',' || c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return i, i > start
		default:
			i++
		}
	}
	return i, depth == 0 && i > start
}

// metaFilterValues appends to dst the texts under which a metadata value
// is indexed, so that every filter text metaMatch accepts for it is among
// metaQueryValues of that text: a string is its text; any other value its
// compact JSON, and a number also its canonical decimal.
func metaFilterValues(dst []string, raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		if plain(raw) && len(raw) >= 2 && raw[len(raw)-1] == '"' {
			return append(dst, string(raw[1:len(raw)-1]))
		}
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return dst
		}
		return append(dst, s)
	}
	c := string(raw)
	if !plain(raw) || bytes.ContainsAny(raw, " \t\r\n") {
		var buf bytes.Buffer
		if json.Compact(&buf, raw) != nil {
			return dst
		}
		c = buf.String()
	}
	if d, ok := parseDecimal(c); ok {
		return append(dst, c, d.key())
	}
	return append(dst, c)
}

// plain reports whether b is ASCII without escapes.
func plain(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 || c == '\\' {
			return false
		}
	}
	return true
}

// metaQueryValues returns the texts to look up for a metadata filter
// value v: v itself, and its canonical decimal when v is a number.
func metaQueryValues(v string) []string {
	if d, ok := parseDecimal(v); ok {
		return []string{v, d.key()}
	}
	return []string{v}
}

// key returns a text that equals another decimal's key exactly when the
// decimals are equal, and that no JSON text or compact JSON equals.
func (d decimal) key() string {
	sign := "+"
	if d.neg {
		sign = "-"
	}
	return "\x00num" + sign + d.digits + "e" + strconv.FormatInt(d.exp, 10)
}

// A probe is one lookup a query's filters make: an entry matches only if
// its value in the field is one of values.
type probe struct {
	field  string
	values []string
}

// probes returns the lookups of q that skip filters can answer.
func (q Query) probes() []probe {
	var ps []probe
	if q.ConversationID != "" {
		ps = append(ps, probe{filterConversation, []string{q.ConversationID}})
	}
	if q.InputHash != "" {
		ps = append(ps, probe{filterInputHash, []string{q.InputHash}})
	}
	if q.OutputHash != "" {
		ps = append(ps, probe{filterOutputHash, []string{q.OutputHash}})
	}
	for k, v := range q.Metadata {
		ps = append(ps, probe{filterMetaPrefix + k, metaQueryValues(v)})
	}
	return ps
}

// mayMatch reports whether a segment with the filters s may hold an entry
// that passes every probe. A nil Set may hold anything.
func mayMatch(s *skipfilter.Set, ps []probe) bool {
	for _, p := range ps {
		if !s.MayContain(p.field, p.values...) {
			return false
		}
	}
	return true
}

// blockMayMatch reports whether a block may hold an entry that passes
// every probe.
func blockMayMatch(b *skipfilter.Block, ps []probe) bool {
	for _, p := range ps {
		if !b.MayContain(p.field, p.values...) {
			return false
		}
	}
	return true
}

// blockQueries returns the store queries that read, within sq, every entry
// of the blocks of s that may match ps, in storage order (see
// skipfilter.Set.Ranges): one per time range, each cut to sq's bounds.
func blockQueries(s *skipfilter.Set, ps []probe, sq store.Query) []store.Query {
	var qs []store.Query
	for _, r := range s.Ranges(func(b *skipfilter.Block) bool { return blockMayMatch(b, ps) }) {
		bq := sq
		if bq.Start.IsZero() || r.Start.After(bq.Start) {
			bq.Start = r.Start
		}
		if bq.End.IsZero() || r.End.Before(bq.End) {
			bq.End = r.End
		}
		if !bq.End.Before(bq.Start) {
			qs = append(qs, bq)
		}
	}
	return qs
}

// segmentFilters returns the skip filters of a sealed segment at its
// version (from the process's cache, the segment's summary blob, or built
// from the segment and kept), or nil when there are none to trust: the
// live segment, a segment with a damaged line, a segment gone since it
// was listed. Only a cancelled ctx is an error.
func (l *Logger) segmentFilters(ctx context.Context, seg store.Segment) (*skipfilter.Set, error) {
	if !seg.Sealed || seg.Version == "" {
		return nil, nil // the live segment changes: scanned instead
	}
	v, err := l.summary(ctx, filterKind{l.fspec}, seg, true)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("comply: skip filters of %s: %w", seg.Name, ctx.Err())
		}
		return nil, nil
	}
	return v.(*skipfilter.Set), nil
}

// scanRecords returns the records a query must read: with filters that
// skip indexes answer, over a Segmented store, only the segments whose
// filters may match, and of those only the time ranges of the blocks that
// may match; otherwise the whole store's scan. The live segment, and one
// without filters to trust, is read whole.
func (l *Logger) scanRecords(ctx context.Context, q Query, sq store.Query) iter.Seq2[store.Record, error] {
	ss, _, ok := l.segmented()
	ps := q.probes()
	if !ok || len(ps) == 0 {
		return l.store.Scan(ctx, sq)
	}
	return func(yield func(store.Record, error) bool) {
		segs, err := ss.Segments(ctx, sq)
		if errors.Is(err, errors.ErrUnsupported) {
			for rec, err := range l.store.Scan(ctx, sq) {
				if !yield(rec, err) {
					return
				}
			}
			return
		}
		if err != nil {
			yield(store.Record{}, fmt.Errorf("comply: query: list segments: %w", err))
			return
		}
		for _, seg := range segs {
			set, err := l.segmentFilters(ctx, seg)
			if err != nil {
				yield(store.Record{}, err)
				return
			}
			qs := []store.Query{sq}
			if set != nil {
				if !mayMatch(set, ps) {
					continue
				}
				qs = blockQueries(set, ps, sq)
			}
			for _, bq := range qs {
				for rec, err := range ss.ScanSegment(ctx, seg.Name, bq) {
					if errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
						break // removed by retention since it was listed
					}
					if !yield(rec, err) {
						return
					}
				}
			}
		}
	}
}
