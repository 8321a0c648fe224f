package skipfilter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strings"
	"time"
)

// Magic begins every encoded Set; Version is the encoding Marshal writes.
// Version 1 (filters per segment only) is refused like any other: a
// version 1 blob is stale and rebuilt.
const (
	Magic   = "CSKF"
	Version = 2
)

// MaxFields and MaxNameLen bound what Unmarshal accepts.
const (
	MaxFields  = 4096
	MaxNameLen = 1024 // also the bound of Segment
)

// DefaultBlockEntries is the number of entries of a block that NewBuilder
// uses: a lookup that finds a value in a segment reads about that many
// entries per matching block instead of the whole segment.
const DefaultBlockEntries = 4096

// ErrFormat is wrapped by every error of Unmarshal: the blob is not a Set
// of a version this package reads, or it is damaged.
var ErrFormat = errors.New("skip filter: bad encoding")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// A Set holds the filters of one segment, one per indexed field, and the
// same filters per block: a run of consecutive entries of the segment (in
// storage order) with its time range. A field the Set does not index may
// hold anything: MayContain says yes.
type Set struct {
	// Segment is the version of the segment the Set was built from
	// (store.Segment.Version): a Set is used only at that version.
	Segment string
	// Entries is the number of entries the Set summarises.
	Entries int64
	fields  []field // sorted by name, names unique
	blocks  []Block // in storage order
}

type field struct {
	name   string
	values int64 // distinct value hashes added
	f      *Filter
}

// A Block is a run of consecutive entries of a segment, with their time
// range and the filters of their values (one per field of its Set).
type Block struct {
	// Min and Max are the earliest and latest entry times, in unix
	// microseconds rounded down: every entry of the block has a time in
	// [Min, Max+1µs).
	Min, Max int64
	// Entries is the number of entries of the block (at least one).
	Entries int64
	set     *Set
	values  []int64   // per field of set
	filters []*Filter // per field of set
}

// Fields returns the names of the indexed fields, sorted.
func (s *Set) Fields() []string {
	names := make([]string, len(s.fields))
	for i, f := range s.fields {
		names[i] = f.name
	}
	return names
}

// index returns the position of the named field, or -1.
func (s *Set) index(name string) int {
	i, ok := slices.BinarySearchFunc(s.fields, name, func(f field, n string) int { return strings.Compare(f.name, n) })
	if !ok {
		return -1
	}
	return i
}

// Indexed reports whether the Set has a filter for the field.
func (s *Set) Indexed(name string) bool { return s.index(name) >= 0 }

// MayContain reports whether some entry of the segment may have one of the
// values in the field: false means certainly none has. A field that is not
// indexed may hold anything, and so does a nil Set.
func (s *Set) MayContain(name string, values ...string) bool {
	if s == nil {
		return true
	}
	i := s.index(name)
	return i < 0 || mayContain(s.fields[i].f, values)
}

func mayContain(f *Filter, values []string) bool {
	for _, v := range values {
		if f.MayContain(Hash(v)) {
			return true
		}
	}
	return false
}

// Blocks returns the blocks of the Set, in storage order. Their entries
// add up to Entries.
func (s *Set) Blocks() []Block { return s.blocks }

// MayContain reports whether some entry of the block may have one of the
// values in the field, as Set.MayContain does for the segment.
func (b *Block) MayContain(name string, values ...string) bool {
	i := b.set.index(name)
	return i < 0 || mayContain(b.filters[i], values)
}

// A Range is an inclusive time range.
type Range struct{ Start, End time.Time }

// Ranges returns the time ranges a scan of the segment must read to see
// every entry of the blocks that match accepts, ascending and disjoint,
// such that reading the ranges one after the other, each in storage order,
// yields the matched blocks' entries in storage order.
//
// Entries need not be stored in time order (a backfill), so that blocks'
// ranges may overlap: overlapping blocks share a range, and so do blocks
// whose time order is not their storage order. A range may cover entries
// of other blocks too; a caller filters them out.
func (s *Set) Ranges(match func(*Block) bool) []Range {
	type span struct{ lo, hi int64 }
	var out []span
	for i := range s.blocks {
		b := &s.blocks[i]
		if !match(b) {
			continue
		}
		if n := len(out); n == 0 || b.Min > out[n-1].hi {
			out = append(out, span{b.Min, b.Max})
			continue
		}
		last := &out[len(out)-1]
		last.lo, last.hi = min(last.lo, b.Min), max(last.hi, b.Max)
		for n := len(out); n > 1 && out[n-1].lo <= out[n-2].hi; n-- {
			out[n-2] = span{min(out[n-2].lo, out[n-1].lo), max(out[n-2].hi, out[n-1].hi)}
			out = out[:n-1]
		}
	}
	rs := make([]Range, len(out))
	for i, sp := range out {
		rs[i] = Range{Start: time.UnixMicro(sp.lo).UTC(), End: time.UnixMicro(sp.hi).UTC().Add(time.Microsecond - 1)}
	}
	return rs
}

// A Builder collects the values of a segment's entries and then sizes and
// fills one filter per field, for the segment and for each block. It
// keeps 8 bytes per value until Set is called. It is not safe for
// concurrent use.
type Builder struct {
	blockEntries int64
	ids          map[string]int // field name to its index in names
	names        []string
	loose        [][]uint64 // per field: values added before the first Entry
	blocks       []*pending
}

type pending struct {
	min, max, entries int64
	hashes            [][]uint64 // per field
}

// NewBuilder returns a Builder that indexes the named fields, in blocks of
// DefaultBlockEntries entries: a field named here is indexed even if no
// entry has a value for it (a query for any value then skips the
// segment). Add may name other fields too.
func NewBuilder(fields ...string) *Builder {
	b := &Builder{blockEntries: DefaultBlockEntries, ids: make(map[string]int, len(fields))}
	for _, f := range fields {
		b.id(f)
	}
	return b
}

// id returns the index of the named field, declaring it if new.
func (b *Builder) id(name string) int {
	id, ok := b.ids[name]
	if !ok {
		id = len(b.names)
		b.ids[name] = id
		b.names = append(b.names, name)
	}
	return id
}

// BlockEntries sets the number of entries per block (at least one) for
// the entries counted from now on, and returns b.
func (b *Builder) BlockEntries(n int) *Builder {
	b.blockEntries = int64(max(n, 1))
	return b
}

// Entry counts one entry summarised, at time t: the values added until
// the next call are its own.
func (b *Builder) Entry(t time.Time) {
	us := t.UnixMicro()
	n := len(b.blocks)
	if n == 0 || b.blocks[n-1].entries >= b.blockEntries {
		b.blocks = append(b.blocks, &pending{min: us, max: us, hashes: make([][]uint64, len(b.names))})
		n++
	}
	p := b.blocks[n-1]
	p.min, p.max = min(p.min, us), max(p.max, us)
	p.entries++
}

// Add records that the entry last counted by Entry has the value in the
// field (a value added before any Entry belongs to the segment only).
func (b *Builder) Add(name, value string) {
	id, h := b.id(name), Hash(value)
	hs := &b.loose
	if n := len(b.blocks); n > 0 {
		hs = &b.blocks[n-1].hashes
	}
	for len(*hs) <= id {
		*hs = append(*hs, nil)
	}
	(*hs)[id] = append((*hs)[id], h)
}

// at returns the hashes of field id in hs, if any.
func at(hs [][]uint64, id int) []uint64 {
	if id < len(hs) {
		return hs[id]
	}
	return nil
}

// filterOf returns the filter of the hashes, sized for the distinct ones,
// and their number. It sorts hs.
func filterOf(hs []uint64) (*Filter, int64) {
	slices.Sort(hs)
	hs = slices.Compact(hs)
	f := New(len(hs))
	for _, h := range hs {
		f.Add(h)
	}
	return f, int64(len(hs))
}

// Set returns the filters of the values added, each sized for its number
// of distinct values. The Builder is empty afterwards, its fields still
// declared.
func (b *Builder) Set() *Set {
	ids := make([]int, len(b.names)) // field indexes by name
	for i := range ids {
		ids[i] = i
	}
	slices.SortFunc(ids, func(x, y int) int { return strings.Compare(b.names[x], b.names[y]) })
	s := &Set{fields: make([]field, len(ids)), blocks: make([]Block, len(b.blocks))}
	for j, p := range b.blocks {
		bl := Block{Min: p.min, Max: p.max, Entries: p.entries, set: s,
			values: make([]int64, len(ids)), filters: make([]*Filter, len(ids))}
		for i, id := range ids {
			bl.filters[i], bl.values[i] = filterOf(at(p.hashes, id))
			if id < len(p.hashes) { // sorted and compacted in place: keep the distinct
				p.hashes[id] = p.hashes[id][:bl.values[i]]
			}
		}
		s.blocks[j] = bl
		s.Entries += p.entries
	}
	for i, id := range ids {
		all := slices.Clone(at(b.loose, id))
		for _, p := range b.blocks {
			all = append(all, at(p.hashes, id)...)
		}
		s.fields[i] = field{name: b.names[id]}
		s.fields[i].f, s.fields[i].values = filterOf(all)
	}
	b.loose, b.blocks = nil, nil
	return s
}

func appendFilter(out []byte, values int64, f *Filter) []byte {
	out = binary.AppendUvarint(out, uint64(values))
	out = binary.AppendUvarint(out, uint64(f.Blocks()))
	return append(out, f.data...)
}

// Marshal encodes the Set, its Segment version included (see
// docs/format.md, "Skip filters").
func (s *Set) Marshal() []byte {
	size := func(f *Filter) int { return 2*binary.MaxVarintLen64 + BlockBytes*f.Blocks() }
	n := len(Magic) + 1 + 4*binary.MaxVarintLen64 + len(s.Segment) + 4
	for _, f := range s.fields {
		n += binary.MaxVarintLen64 + len(f.name) + size(f.f)
	}
	for _, b := range s.blocks {
		n += 3 * binary.MaxVarintLen64
		for _, f := range b.filters {
			n += size(f)
		}
	}
	out := make([]byte, 0, n)
	out = append(out, Magic...)
	out = append(out, Version)
	out = binary.AppendUvarint(out, uint64(len(s.Segment)))
	out = append(out, s.Segment...)
	out = binary.AppendUvarint(out, uint64(s.Entries))
	out = binary.AppendUvarint(out, uint64(len(s.fields)))
	for _, f := range s.fields {
		out = binary.AppendUvarint(out, uint64(len(f.name)))
		out = append(out, f.name...)
		out = appendFilter(out, f.values, f.f)
	}
	out = binary.AppendUvarint(out, uint64(len(s.blocks)))
	for _, b := range s.blocks {
		out = binary.AppendVarint(out, b.Min)
		out = binary.AppendUvarint(out, uint64(b.Max-b.Min))
		out = binary.AppendUvarint(out, uint64(b.Entries))
		for i, f := range b.filters {
			out = appendFilter(out, b.values[i], f)
		}
	}
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// Unmarshal decodes a Set that Marshal encoded. Any other input, a
// damaged one or one of another version included, gives an error wrapping
// ErrFormat. The Set shares data's bytes: the caller must not change them.
func Unmarshal(data []byte) (*Set, error) {
	if len(data) < len(Magic)+1+4 || string(data[:len(Magic)]) != Magic {
		return nil, fmt.Errorf("%w: no magic", ErrFormat)
	}
	if v := data[len(Magic)]; v != Version {
		return nil, fmt.Errorf("%w: version %d, want %d", ErrFormat, v, Version)
	}
	body, sum := data[:len(data)-4], binary.LittleEndian.Uint32(data[len(data)-4:])
	if crc32.Checksum(body, castagnoli) != sum {
		return nil, fmt.Errorf("%w: checksum mismatch", ErrFormat)
	}
	d := decoder{b: body[len(Magic)+1:]}
	sl := d.uvarint("segment length", MaxNameLen)
	seg := string(d.bytes(int(sl)))
	entries := d.uvarint("entries", 1<<62)
	nf := d.uvarint("fields", MaxFields)
	s := &Set{Segment: seg, Entries: int64(entries)}
	for i := uint64(0); i < nf && d.err == nil; i++ {
		nl := d.uvarint("name length", MaxNameLen)
		name := string(d.bytes(int(nl)))
		if d.err == nil && (name == "" || (len(s.fields) > 0 && name <= s.fields[len(s.fields)-1].name)) {
			d.fail("field %d: names not unique and ascending", i)
		}
		values, f := d.filter()
		if d.err != nil {
			break
		}
		s.fields = append(s.fields, field{name: name, values: values, f: f})
	}
	// Each block holds an entry at least and takes 3 bytes at least.
	nb := d.uvarint("blocks", min(entries, uint64(len(d.b))))
	var sum64 uint64
	for j := uint64(0); j < nb && d.err == nil; j++ {
		lo := d.varint("block start")
		span := d.uvarint("block span", math.MaxInt64-uint64(max(lo, 0)))
		n := d.uvarint("block entries", entries-sum64)
		if d.err == nil && n == 0 {
			d.fail("block %d: no entries", j)
		}
		sum64 += n
		b := Block{Min: lo, Max: lo + int64(span), Entries: int64(n), set: s,
			values: make([]int64, len(s.fields)), filters: make([]*Filter, len(s.fields))}
		for i := range s.fields {
			b.values[i], b.filters[i] = d.filter()
		}
		s.blocks = append(s.blocks, b)
	}
	if d.err == nil && sum64 != entries {
		d.fail("blocks hold %d entries, not %d", sum64, entries)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the last block", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
}

// filter decodes the values count, block count and blocks of one filter.
func (d *decoder) filter() (int64, *Filter) {
	values := d.uvarint("values", 1<<62)
	nb := d.uvarint("filter blocks", MaxBlocks)
	if d.err == nil && (nb == 0 || nb > uint64(len(d.b))/BlockBytes) {
		d.fail("%d filter blocks", nb)
	}
	if d.err != nil {
		return 0, nil
	}
	raw := d.bytes(int(nb) * BlockBytes)
	return int64(values), &Filter{data: raw[:len(raw):len(raw)]}
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) uvarint(what string, limit uint64) uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || v > limit {
		d.fail("bad %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint(what string) int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail("bad %s", what)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail("truncated")
		return nil
	}
	out := d.b[:n]
	d.b = d.b[n:]
	return out
}
