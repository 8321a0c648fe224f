package rollup

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"slices"
	"strings"
)

// The rollup blob, format 3 (docs/format.md, section 8):
//
//	magic "CMPLYRUP", uvarint format (3)
//	string: the segment version the rollup was built at
//	uvarint corrupt
//	uvarint n, n strings: the names (providers, models, detectors, reasons)
//	uvarint n, n cells: varint hour, uvarint provider, uvarint model
//	    (indexes into the names), byte safety failed (0 or 1), cell body
//	uvarint n, n detector cells: varint hour, uvarint name, cell body
//	uvarint n, n reasons: varint hour, uvarint name, uvarint count
//	uvarint n, n failed reasons: varint hour, uvarint name, uvarint count
//	uvarint n, n pools: varint hour, uvarint k, k strings (ids, in Rank order)
//	CRC-32C (uint32 LE) of all the bytes before it
//
// where a string is uvarint length and bytes, and a cell body is uvarint
// entries, safety failures, errors, ttft entries, priced, with user,
// with user and session, hash only, keyed, serious, unhashed; varint input
// tokens, output tokens, first and last entry time (unix µs); float64 LE latency sum, cost sum; then two
// sketches (latency_ms, ttft_ms), each uvarint length and the DDSketch
// encoding (sketches-go's Encode, without the index mapping: logarithmic,
// relative accuracy Alpha).
const (
	magic  = "CMPLYRUP"
	format = 3 // 1 lacked the report's counts, 2 the unhashed count: decoded as damaged, so rebuilt
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrDamaged is wrapped by Decode's errors: the blob is not a rollup of
// this format, or is damaged.
var ErrDamaged = errors.New("damaged rollup")

// Encode returns the blob of r, built at segment version version.
func Encode(r *Rollup, version string) []byte {
	names := map[string]uint64{}
	var list []string
	idx := func(s string) uint64 {
		i, ok := names[s]
		if !ok {
			i = uint64(len(list))
			names[s] = i
			list = append(list, s)
		}
		return i
	}
	cells := sortedKeys(r.Cells, func(a, b Key) int {
		return cmp.Or(cmp.Compare(a.Hour, b.Hour), strings.Compare(a.Provider, b.Provider),
			strings.Compare(a.Model, b.Model), cmpBool(a.SafetyFailed, b.SafetyFailed))
	})
	dets := sortedKeys(r.Detectors, cmpName)
	reasons := sortedKeys(r.Reasons, cmpName)
	failed := sortedKeys(r.FailedReasons, cmpName)
	for _, k := range cells {
		idx(k.Provider)
		idx(k.Model)
	}
	for _, k := range dets {
		idx(k.Name)
	}
	for _, k := range reasons {
		idx(k.Name)
	}
	for _, k := range failed {
		idx(k.Name)
	}
	b := append([]byte(magic), format)
	b = appendString(b, version)
	b = binary.AppendUvarint(b, uint64(r.Corrupt))
	b = binary.AppendUvarint(b, uint64(len(list)))
	for _, s := range list {
		b = appendString(b, s)
	}
	b = binary.AppendUvarint(b, uint64(len(cells)))
	for _, k := range cells {
		b = binary.AppendVarint(b, k.Hour)
		b = binary.AppendUvarint(b, idx(k.Provider))
		b = binary.AppendUvarint(b, idx(k.Model))
		if k.SafetyFailed {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
		b = appendCell(b, r.Cells[k])
	}
	b = binary.AppendUvarint(b, uint64(len(dets)))
	for _, k := range dets {
		b = binary.AppendVarint(b, k.Hour)
		b = binary.AppendUvarint(b, idx(k.Name))
		b = appendCell(b, r.Detectors[k])
	}
	b = binary.AppendUvarint(b, uint64(len(reasons)))
	for _, k := range reasons {
		b = binary.AppendVarint(b, k.Hour)
		b = binary.AppendUvarint(b, idx(k.Name))
		b = binary.AppendUvarint(b, uint64(r.Reasons[k]))
	}
	b = binary.AppendUvarint(b, uint64(len(failed)))
	for _, k := range failed {
		b = binary.AppendVarint(b, k.Hour)
		b = binary.AppendUvarint(b, idx(k.Name))
		b = binary.AppendUvarint(b, uint64(r.FailedReasons[k]))
	}
	pools := sortedKeys(r.Pools, cmp.Compare[int64])
	b = binary.AppendUvarint(b, uint64(len(pools)))
	for _, h := range pools {
		b = binary.AppendVarint(b, h)
		b = binary.AppendUvarint(b, uint64(len(r.Pools[h].ids)))
		for _, id := range r.Pools[h].ids {
			b = appendString(b, id)
		}
	}
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

func cmpName(a, b NameKey) int {
	return cmp.Or(cmp.Compare(a.Hour, b.Hour), strings.Compare(a.Name, b.Name))
}

func sortedKeys[K comparable, V any](m map[K]V, f func(a, b K) int) []K {
	ks := make([]K, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, f)
	return ks
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func appendCell(b []byte, c *Cell) []byte {
	for _, v := range []int64{c.Entries, c.SafetyFailures, c.Errors, c.TTFTEntries, c.Priced, c.WithUser, c.WithBoth, c.HashOnly, c.Keyed, c.Serious, c.Unhashed} {
		b = binary.AppendUvarint(b, uint64(v))
	}
	b = binary.AppendVarint(b, c.InputTokens)
	b = binary.AppendVarint(b, c.OutputTokens)
	b = binary.AppendVarint(b, c.First)
	b = binary.AppendVarint(b, c.Last)
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.LatencySum))
	b = binary.LittleEndian.AppendUint64(b, math.Float64bits(c.CostSum))
	for _, s := range []*Sketch{&c.Latency, &c.TTFT} {
		enc := s.encode(nil)
		b = binary.AppendUvarint(b, uint64(len(enc)))
		b = append(b, enc...)
	}
	return b
}

// Decode parses a rollup blob and returns it with the segment version it
// was built at. A blob that is damaged in any way (its checksum, its
// structure, a sketch) gives an error wrapping ErrDamaged.
func Decode(b []byte) (*Rollup, string, error) {
	if len(b) < len(magic)+1+4 || string(b[:len(magic)]) != magic {
		return nil, "", fmt.Errorf("%w: not a rollup", ErrDamaged)
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return nil, "", fmt.Errorf("%w: checksum mismatch", ErrDamaged)
	}
	if body[len(magic)] != format {
		return nil, "", fmt.Errorf("%w: format %d", ErrDamaged, body[len(magic)])
	}
	d := decoder{b: body[len(magic)+1:]}
	version := d.str()
	r := New()
	r.Corrupt = int64(d.uvarint())
	names := make([]string, d.count(1))
	for i := range names {
		names[i] = d.str()
	}
	name := func() string {
		i := d.uvarint()
		if i >= uint64(len(names)) {
			d.fail()
			return ""
		}
		return names[i]
	}
	for n := d.count(12); n > 0 && d.err == nil; n-- {
		k := Key{Hour: d.varint(), Provider: name(), Model: name()}
		k.SafetyFailed = d.byte() == 1
		r.Cells[k] = d.cell()
	}
	for n := d.count(12); n > 0 && d.err == nil; n-- {
		k := NameKey{Hour: d.varint(), Name: name()}
		r.Detectors[k] = d.cell()
	}
	for n := d.count(3); n > 0 && d.err == nil; n-- {
		k := NameKey{Hour: d.varint(), Name: name()}
		r.Reasons[k] = int64(d.uvarint())
	}
	for n := d.count(3); n > 0 && d.err == nil; n-- {
		k := NameKey{Hour: d.varint(), Name: name()}
		r.FailedReasons[k] = int64(d.uvarint())
	}
	for n := d.count(2); n > 0 && d.err == nil; n-- {
		h := d.varint()
		p := &Pool{ids: make([]string, d.count(1))}
		for i := range p.ids {
			p.ids[i] = d.str()
			p.ranks = append(p.ranks, Rank(p.ids[i]))
		}
		if len(p.ids) > PoolSize || !slices.IsSortedFunc(p.ids, func(a, b string) int { return cmp.Compare(Rank(a), Rank(b)) }) {
			d.fail()
		}
		r.Pools[h] = p
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return nil, "", d.err
	}
	return r, version, nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: malformed", ErrDamaged)
	}
	d.b = nil
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a count of items of at least min bytes each.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) bytes(n uint64) []byte {
	if n > uint64(len(d.b)) {
		d.fail()
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string { return string(d.bytes(d.uvarint())) }
func (d *decoder) byte() byte {
	b := d.bytes(1)
	if len(b) == 0 {
		return 0
	}
	return b[0]
}
func (d *decoder) u64() uint64 {
	b := d.bytes(8)
	if len(b) < 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

func (d *decoder) cell() *Cell {
	c := &Cell{}
	for _, p := range []*int64{&c.Entries, &c.SafetyFailures, &c.Errors, &c.TTFTEntries, &c.Priced, &c.WithUser, &c.WithBoth, &c.HashOnly, &c.Keyed, &c.Serious, &c.Unhashed} {
		*p = int64(d.uvarint())
	}
	c.InputTokens = d.varint()
	c.OutputTokens = d.varint()
	c.First = d.varint()
	c.Last = d.varint()
	c.LatencySum = math.Float64frombits(d.u64())
	c.CostSum = math.Float64frombits(d.u64())
	for _, s := range []*Sketch{&c.Latency, &c.TTFT} {
		raw := d.bytes(d.uvarint())
		// Not decoded here: the checksum covers it, and a merge
		// decodes it straight into its target.
		s.raw = raw
	}
	return c
}
