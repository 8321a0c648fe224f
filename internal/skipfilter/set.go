package skipfilter

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"slices"
	"strings"
)

// Magic begins every encoded Set; Version is the encoding Marshal writes.
const (
	Magic   = "CSKF"
	Version = 1
)

// MaxFields and MaxNameLen bound what Unmarshal accepts.
const (
	MaxFields  = 4096
	MaxNameLen = 1024 // also the bound of Segment
)

// ErrFormat is wrapped by every error of Unmarshal: the blob is not a Set
// of a version this package reads, or it is damaged.
var ErrFormat = errors.New("skip filter: bad encoding")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// A Set holds the filters of one segment, one per indexed field. A field
// the Set does not index may hold anything: MayContain says yes.
type Set struct {
	// Segment is the version of the segment the Set was built from
	// (store.Segment.Version): a Set is used only at that version.
	Segment string
	// Entries is the number of entries the Set summarises.
	Entries int64
	fields  []field // sorted by name, names unique
}

type field struct {
	name   string
	values int64 // distinct value hashes added
	f      *Filter
}

// Fields returns the names of the indexed fields, sorted.
func (s *Set) Fields() []string {
	names := make([]string, len(s.fields))
	for i, f := range s.fields {
		names[i] = f.name
	}
	return names
}

func (s *Set) lookup(name string) *field {
	i, ok := slices.BinarySearchFunc(s.fields, name, func(f field, n string) int { return strings.Compare(f.name, n) })
	if !ok {
		return nil
	}
	return &s.fields[i]
}

// Indexed reports whether the Set has a filter for the field.
func (s *Set) Indexed(name string) bool { return s.lookup(name) != nil }

// MayContain reports whether some entry of the segment may have one of the
// values in the field: false means certainly none has. A field that is not
// indexed may hold anything, and so does a nil Set.
func (s *Set) MayContain(name string, values ...string) bool {
	if s == nil {
		return true
	}
	f := s.lookup(name)
	if f == nil {
		return true
	}
	for _, v := range values {
		if f.f.MayContain(Hash(v)) {
			return true
		}
	}
	return false
}

// A Builder collects the values of a segment's entries and then sizes and
// fills one filter per field. It keeps 8 bytes per value until Set is
// called. It is not safe for concurrent use.
type Builder struct {
	entries int64
	hashes  map[string][]uint64
}

// NewBuilder returns a Builder that indexes the named fields: a field
// named here is indexed even if no entry has a value for it (a query for
// any value then skips the segment). Add may name other fields too.
func NewBuilder(fields ...string) *Builder {
	b := &Builder{hashes: make(map[string][]uint64, len(fields))}
	for _, f := range fields {
		b.hashes[f] = nil
	}
	return b
}

// Entry counts one entry summarised.
func (b *Builder) Entry() { b.entries++ }

// Add records that an entry has the value in the field.
func (b *Builder) Add(name, value string) {
	b.hashes[name] = append(b.hashes[name], Hash(value))
}

// Set returns the filters of the values added, each sized for its number
// of distinct values. The Builder is empty afterwards, its fields still
// declared.
func (b *Builder) Set() *Set {
	s := &Set{Entries: b.entries, fields: make([]field, 0, len(b.hashes))}
	for name, hs := range b.hashes {
		slices.Sort(hs)
		hs = slices.Compact(hs)
		f := New(len(hs))
		for _, h := range hs {
			f.Add(h)
		}
		s.fields = append(s.fields, field{name: name, values: int64(len(hs)), f: f})
		b.hashes[name] = nil
	}
	slices.SortFunc(s.fields, func(a, b field) int { return strings.Compare(a.name, b.name) })
	b.entries = 0
	return s
}

// Marshal encodes the Set, its Segment version included (see
// docs/format.md, "Skip filters").
func (s *Set) Marshal() []byte {
	n := len(Magic) + 1 + 3*binary.MaxVarintLen64 + len(s.Segment) + 4
	for _, f := range s.fields {
		n += 3*binary.MaxVarintLen64 + len(f.name) + BlockBytes*f.f.Blocks()
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
		out = binary.AppendUvarint(out, uint64(f.values))
		out = binary.AppendUvarint(out, uint64(f.f.Blocks()))
		for _, b := range f.f.blocks {
			for _, w := range b {
				out = binary.LittleEndian.AppendUint32(out, w)
			}
		}
	}
	return binary.LittleEndian.AppendUint32(out, crc32.Checksum(out, castagnoli))
}

// Unmarshal decodes a Set that Marshal encoded. Any other input, a
// damaged one included, gives an error wrapping ErrFormat.
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
		values := d.uvarint("values", 1<<62)
		nb := d.uvarint("blocks", MaxBlocks)
		if d.err == nil && (nb == 0 || nb > uint64(len(d.b))/BlockBytes) {
			d.fail("%d blocks", nb)
		}
		if d.err == nil && (name == "" || (len(s.fields) > 0 && name <= s.fields[len(s.fields)-1].name)) {
			d.fail("field %d: names not unique and ascending", i)
		}
		if d.err != nil {
			break
		}
		f := &Filter{blocks: make([][8]uint32, nb)}
		raw := d.bytes(int(nb) * BlockBytes)
		for j := range f.blocks {
			for k := range 8 {
				f.blocks[j][k] = binary.LittleEndian.Uint32(raw[(8*j+k)*4:])
			}
		}
		s.fields = append(s.fields, field{name: name, values: int64(values), f: f})
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the last field", len(d.b))
	}
	if d.err != nil {
		return nil, d.err
	}
	return s, nil
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
