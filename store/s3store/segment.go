package s3store

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// Segment object format, version 1. See the package documentation and
// docs/format.md.
//
// A segment is a gzip file (RFC 1952) of several members, so that gunzip
// or any gzip reader yields exactly the JSONL lines:
//
//	data member+    each holds whole lines, "\n"-terminated, at most
//	                blockSize uncompressed bytes (one line may exceed it)
//	index member+   empty members whose header FEXTRA field holds a
//	                subfield "CI" with the next chunk of the index
//	footer member   an empty member whose FEXTRA holds a subfield "CF"
//	                with the 32-byte footer
//
// Index and footer members are written byte for byte as
//
//	1f 8b 08 04 00 00 00 00 00 ff   magic, deflate, FEXTRA, mtime 0, OS unknown
//	XLEN (2 bytes LE) = 4 + n
//	SI1 SI2 ('C','I' or 'C','F'), LEN (2 bytes LE) = n, n bytes
//	03 00                           an empty final deflate block
//	00 00 00 00 00 00 00 00         CRC32 and ISIZE of no data
//
// so their size is 26 + n, and the footer member is always the last
// footerSize bytes of the object. The footer is
//
//	"CSEG" version(1 byte, =1) 0 0 0
//	index offset   8 bytes LE: where the first index member starts (= the
//	               size of the data members)
//	index length   8 bytes LE: the bytes of the index members
//	index CRC      4 bytes LE: CRC-32 (IEEE) of the index payload
//	0 0 0 0
//
// The index payload (the CI chunks concatenated) is
//
//	"CIX1"
//	uvarint count, varint minT, uvarint maxT-minT     (times in µs since the epoch)
//	uvarint blocks, then per block:
//	    uvarint compressed length, uvarint uncompressed length, uvarint lines,
//	    uvarint blockMin-minT, uvarint blockMax-blockMin
//	then per line, in order:
//	    id: 0x00 and 16 bytes (a canonical lowercase UUID), or 0x01, uvarint n, n bytes
//	    uvarint t-minT
//
// Data members follow one another from offset 0, so a block's offset is
// the sum of the compressed lengths before it.
const (
	blockSize   = 256 << 10
	footerData  = 32
	footerSize  = 26 + footerData
	maxChunk    = 0xffff - 4
	indexMagic  = "CIX1"
	footerMagic = "CSEG"
	formatV1    = 1
	// maxBlock bounds a block's uncompressed size: blockSize, or one line
	// longer than that.
	maxBlock = MaxLineSize + 1
)

// A segRec is one record as a segment holds it.
type segRec struct {
	id   string
	t    int64 // µs since the epoch
	line []byte
}

// A segIndex is the decoded index of a segment.
type segIndex struct {
	count      int64
	minT, maxT int64
	blocks     []blockInfo
	ids        []string // per line, in order
	times      []int64  // per line, µs
	dataEnd    int64    // the size of the data members
}

type blockInfo struct {
	off, clen  int64 // compressed bytes in the object
	uoff, ulen int64 // uncompressed bytes in the line stream
	first      int   // index of the block's first line
	lines      int
	minT, maxT int64
}

// find returns the line number of id, or -1.
func (x *segIndex) find(id string) int {
	for i, v := range x.ids {
		if v == id {
			return i
		}
	}
	return -1
}

// blockOf returns the block holding line i.
func (x *segIndex) blockOf(i int) int {
	for b := range x.blocks {
		if i < x.blocks[b].first+x.blocks[b].lines {
			return b
		}
	}
	return -1
}

var gzPool = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return w
}}

// encodeSegment builds a segment object of recs, which must not be empty,
// and returns it with its index.
func encodeSegment(recs []segRec) ([]byte, *segIndex) {
	gw := gzPool.Get().(*gzip.Writer)
	defer gzPool.Put(gw)
	return encodeSegmentWith(recs, gw)
}

// encodeSegmentWith is encodeSegment with the given gzip writer (and so
// compression level).
func encodeSegmentWith(recs []segRec, gw *gzip.Writer) ([]byte, *segIndex) {
	x := &segIndex{count: int64(len(recs)), minT: recs[0].t, maxT: recs[0].t}
	size := 0
	for _, r := range recs {
		x.minT = min(x.minT, r.t)
		x.maxT = max(x.maxT, r.t)
		size += len(r.line) + 1
	}
	var buf bytes.Buffer
	buf.Grow(size/5 + 1024)
	var uoff int64
	for i := 0; i < len(recs); {
		start := int64(buf.Len())
		gw.Reset(&buf)
		b := blockInfo{off: start, uoff: uoff, first: i, minT: recs[i].t, maxT: recs[i].t}
		for j := i; j < len(recs) && (j == i || b.ulen+int64(len(recs[j].line))+1 <= blockSize); j++ {
			gw.Write(recs[j].line)
			gw.Write([]byte{'\n'})
			b.ulen += int64(len(recs[j].line)) + 1
			b.lines++
			b.minT = min(b.minT, recs[j].t)
			b.maxT = max(b.maxT, recs[j].t)
		}
		gw.Close() // writes to a bytes.Buffer do not fail
		b.clen = int64(buf.Len()) - start
		uoff += b.ulen
		x.blocks = append(x.blocks, b)
		i += b.lines
	}
	x.dataEnd = int64(buf.Len())
	x.ids = make([]string, len(recs))
	x.times = make([]int64, len(recs))
	for i, r := range recs {
		x.ids[i], x.times[i] = r.id, r.t
	}
	payload := x.marshal()
	for p := payload; len(p) > 0; {
		n := min(len(p), maxChunk)
		writeEmptyMember(&buf, 'I', p[:n])
		p = p[n:]
	}
	indexLen := int64(buf.Len()) - x.dataEnd
	var f [footerData]byte
	copy(f[0:4], footerMagic)
	f[4] = formatV1
	binary.LittleEndian.PutUint64(f[8:16], uint64(x.dataEnd))
	binary.LittleEndian.PutUint64(f[16:24], uint64(indexLen))
	binary.LittleEndian.PutUint32(f[24:28], crc32.ChecksumIEEE(payload))
	writeEmptyMember(&buf, 'F', f[:])
	return buf.Bytes(), x
}

// marshal returns the index payload.
func (x *segIndex) marshal() []byte {
	b := make([]byte, 0, 64+len(x.blocks)*16+len(x.ids)*20)
	b = append(b, indexMagic...)
	b = binary.AppendUvarint(b, uint64(x.count))
	b = binary.AppendVarint(b, x.minT)
	b = binary.AppendUvarint(b, uint64(x.maxT-x.minT))
	b = binary.AppendUvarint(b, uint64(len(x.blocks)))
	for _, bl := range x.blocks {
		b = binary.AppendUvarint(b, uint64(bl.clen))
		b = binary.AppendUvarint(b, uint64(bl.ulen))
		b = binary.AppendUvarint(b, uint64(bl.lines))
		b = binary.AppendUvarint(b, uint64(bl.minT-x.minT))
		b = binary.AppendUvarint(b, uint64(bl.maxT-bl.minT))
	}
	for i, id := range x.ids {
		if u, ok := uuidBytes(id); ok {
			b = append(b, 0)
			b = append(b, u[:]...)
		} else {
			b = append(b, 1)
			b = binary.AppendUvarint(b, uint64(len(id)))
			b = append(b, id...)
		}
		b = binary.AppendUvarint(b, uint64(x.times[i]-x.minT))
	}
	return b
}

// memberHead is the fixed start of an index or footer member.
var memberHead = []byte{0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 0xff}

// memberTail is the empty deflate stream, CRC32 and ISIZE of no data.
var memberTail = []byte{3, 0, 0, 0, 0, 0, 0, 0, 0, 0}

func writeEmptyMember(buf *bytes.Buffer, si2 byte, data []byte) {
	buf.Write(memberHead)
	var h [6]byte
	binary.LittleEndian.PutUint16(h[0:2], uint16(4+len(data)))
	h[2], h[3] = 'C', si2
	binary.LittleEndian.PutUint16(h[4:6], uint16(len(data)))
	buf.Write(h[:])
	buf.Write(data)
	buf.Write(memberTail)
}

// readEmptyMember parses one index or footer member at the start of b and
// returns its data and the rest of b.
func readEmptyMember(b []byte, si2 byte) (data, rest []byte, err error) {
	if len(b) < 26 || !bytes.Equal(b[:10], memberHead) {
		return nil, nil, errors.New("bad index member header")
	}
	xlen := int(binary.LittleEndian.Uint16(b[10:12]))
	n := int(binary.LittleEndian.Uint16(b[14:16]))
	if b[12] != 'C' || b[13] != si2 || xlen != n+4 || len(b) < 26+n {
		return nil, nil, errors.New("bad index member subfield")
	}
	if !bytes.Equal(b[16+n:26+n], memberTail) {
		return nil, nil, errors.New("bad index member trailer")
	}
	return b[16 : 16+n], b[26+n:], nil
}

// A footer locates the index.
type footer struct {
	indexOff, indexLen int64
	crc                uint32
}

// parseFooter parses the footer member, the last footerSize bytes of a
// segment of the given size.
func parseFooter(tail []byte, size int64) (footer, error) {
	if len(tail) != footerSize {
		return footer{}, errors.New("segment too short for a footer")
	}
	d, _, err := readEmptyMember(tail, 'F')
	if err != nil {
		return footer{}, fmt.Errorf("footer: %w", err)
	}
	if len(d) != footerData || string(d[0:4]) != footerMagic {
		return footer{}, errors.New("footer: bad magic")
	}
	if d[4] != formatV1 {
		return footer{}, fmt.Errorf("footer: unknown segment format version %d", d[4])
	}
	f := footer{
		indexOff: int64(binary.LittleEndian.Uint64(d[8:16])),
		indexLen: int64(binary.LittleEndian.Uint64(d[16:24])),
		crc:      binary.LittleEndian.Uint32(d[24:28]),
	}
	if f.indexOff < 0 || f.indexLen < 26 || f.indexOff > size || f.indexLen > size-f.indexOff-footerSize || f.indexOff+f.indexLen+footerSize != size {
		return footer{}, errors.New("footer: index bounds out of range")
	}
	return f, nil
}

// parseIndex decodes the index members b (exactly f.indexLen bytes).
func parseIndex(b []byte, f footer) (*segIndex, error) {
	if int64(len(b)) != f.indexLen {
		return nil, errors.New("index: short read")
	}
	var payload []byte
	for len(b) > 0 {
		d, rest, err := readEmptyMember(b, 'I')
		if err != nil {
			return nil, fmt.Errorf("index: %w", err)
		}
		payload = append(payload, d...)
		b = rest
	}
	if crc32.ChecksumIEEE(payload) != f.crc {
		return nil, errors.New("index: checksum mismatch")
	}
	return unmarshalIndex(payload, f.indexOff)
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("index: bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.err = errors.New("index: bad varint")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errors.New("index: truncated")
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// maxSpan bounds the times in an index: about 290 years in µs, so that
// sums of times never overflow.
const maxSpan = 1 << 53

// unmarshalIndex decodes an index payload, checking it against the size of
// the data members.
func unmarshalIndex(p []byte, dataEnd int64) (*segIndex, error) {
	r := &reader{b: p}
	if string(r.bytes(4)) != indexMagic {
		return nil, errors.New("index: bad magic")
	}
	count := r.uvarint()
	minT := r.varint()
	span := r.uvarint()
	nb := r.uvarint()
	if r.err != nil {
		return nil, r.err
	}
	// Every line takes at least 2 bytes and every block 5: a count the
	// payload cannot hold is corrupt, and must not size an allocation.
	if count == 0 || count > uint64(len(p))/2 || nb == 0 || nb > count || nb > uint64(len(p))/5 ||
		minT < -maxSpan || minT > maxSpan || span > maxSpan {
		return nil, errors.New("index: counts out of range")
	}
	x := &segIndex{count: int64(count), minT: minT, maxT: minT + int64(span), dataEnd: dataEnd}
	x.blocks = make([]blockInfo, nb)
	var off, uoff int64
	first := 0
	for i := range x.blocks {
		b := &x.blocks[i]
		clen, ulen, lines := r.uvarint(), r.uvarint(), r.uvarint()
		bmin, bspan := r.uvarint(), r.uvarint()
		if r.err != nil {
			return nil, r.err
		}
		if clen == 0 || clen > uint64(dataEnd-off) || ulen == 0 || ulen > maxBlock || lines == 0 || lines > count-uint64(first) ||
			bmin > span || bspan > span-bmin {
			return nil, errors.New("index: block out of range")
		}
		*b = blockInfo{off: off, clen: int64(clen), uoff: uoff, ulen: int64(ulen), first: first, lines: int(lines),
			minT: minT + int64(bmin), maxT: minT + int64(bmin) + int64(bspan)}
		off += b.clen
		uoff += b.ulen
		first += b.lines
	}
	if off != dataEnd || uint64(first) != count {
		return nil, errors.New("index: blocks do not cover the data")
	}
	x.ids = make([]string, count)
	x.times = make([]int64, count)
	for i := range x.ids {
		switch tag := r.bytes(1); {
		case r.err != nil:
			return nil, r.err
		case tag[0] == 0:
			u := r.bytes(16)
			if r.err != nil {
				return nil, r.err
			}
			x.ids[i] = uuidString(u)
		case tag[0] == 1:
			n := r.uvarint()
			x.ids[i] = string(r.bytes(n))
		default:
			return nil, errors.New("index: bad id tag")
		}
		dt := r.uvarint()
		if r.err != nil {
			return nil, r.err
		}
		if dt > span {
			return nil, errors.New("index: line time out of range")
		}
		x.times[i] = minT + int64(dt)
	}
	if len(r.b) != 0 {
		return nil, errors.New("index: trailing bytes")
	}
	return x, nil
}

// uuidBytes parses a canonical lowercase UUID.
func uuidBytes(id string) (u [16]byte, ok bool) {
	if len(id) != 36 || id[8] != '-' || id[13] != '-' || id[18] != '-' || id[23] != '-' {
		return u, false
	}
	h := id[0:8] + id[9:13] + id[14:18] + id[19:23] + id[24:36]
	for i := range len(h) {
		if c := h[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return u, false
		}
	}
	hex.Decode(u[:], []byte(h))
	return u, true
}

func uuidString(u []byte) string {
	var b [36]byte
	hex.Encode(b[0:8], u[0:4])
	b[8] = '-'
	hex.Encode(b[9:13], u[4:6])
	b[13] = '-'
	hex.Encode(b[14:18], u[6:8])
	b[18] = '-'
	hex.Encode(b[19:23], u[8:10])
	b[23] = '-'
	hex.Encode(b[24:], u[10:])
	return string(b[:])
}

// readIndex returns the index of a whole segment object.
func readIndex(body []byte) (*segIndex, error) {
	size := int64(len(body))
	if size < footerSize {
		return nil, errors.New("segment too short for a footer")
	}
	f, err := parseFooter(body[size-footerSize:], size)
	if err != nil {
		return nil, err
	}
	return parseIndex(body[f.indexOff:f.indexOff+f.indexLen], f)
}

// inflateBlock decompresses one data member, which must hold exactly ulen
// bytes of whole lines.
func inflateBlock(comp []byte, ulen int64) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(comp))
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	out := make([]byte, 0, min(ulen, blockSize+1))
	out, err = readAllLimit(zr, out, ulen+1)
	if err != nil {
		return nil, err
	}
	if int64(len(out)) != ulen {
		return nil, fmt.Errorf("block holds %d bytes, index says %d", len(out), ulen)
	}
	if ulen > 0 && out[ulen-1] != '\n' {
		return nil, errors.New("block does not end with a newline")
	}
	return out, nil
}

func readAllLimit(r io.Reader, b []byte, limit int64) ([]byte, error) {
	for {
		if int64(len(b)) >= limit {
			return b, errors.New("block larger than its index says")
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)]
		}
		n, err := r.Read(b[len(b):min(int64(cap(b)), limit)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

// A rawLine is one line read back from a segment: its offset in the
// segment's line stream, its bytes (without "\n"), or why it could not be
// read.
type rawLine struct {
	off  int64
	line []byte
	err  error
}

// segmentLines calls fn with the lines of the blocks [from, to) of a
// segment, given comp, the compressed bytes of those blocks (starting at
// blocks[from].off). A block that cannot be inflated is reported once, at
// its offset, and skipped; fn returning false stops.
func segmentLines(x *segIndex, from, to int, comp []byte, fn func(rawLine) bool) bool {
	base := x.blocks[from].off
	for _, b := range x.blocks[from:to] {
		lo, hi := b.off-base, b.off-base+b.clen
		if lo < 0 || hi > int64(len(comp)) {
			return fn(rawLine{off: b.uoff, err: errors.New("block outside the fetched range")})
		}
		data, err := inflateBlock(comp[lo:hi], b.ulen)
		if err != nil {
			if !fn(rawLine{off: b.uoff, err: fmt.Errorf("block at %d: %w", b.off, err)}) {
				return false
			}
			continue
		}
		if !splitLines(data, b.uoff, fn) {
			return false
		}
	}
	return true
}

// wholeLines reads the lines of a whole segment object without its index,
// as any gzip reader would: for segments whose index is damaged.
func wholeLines(body []byte, fn func(rawLine) bool) bool {
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		return fn(rawLine{off: 0, err: err})
	}
	data, err := io.ReadAll(zr)
	// Lines before the damage are good: gzip checks each member's CRC at
	// its end, and a bad member's bytes are cut off below.
	if err != nil {
		if i := bytes.LastIndexByte(data, '\n'); i >= 0 {
			data = data[:i+1]
		} else {
			data = nil
		}
	}
	if !splitLines(data, 0, fn) {
		return false
	}
	if err != nil {
		return fn(rawLine{off: int64(len(data)), err: err})
	}
	return true
}

func splitLines(data []byte, base int64, fn func(rawLine) bool) bool {
	off := 0
	for off < len(data) {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return fn(rawLine{off: base + int64(off), err: errors.New("line without a newline")})
		}
		if !fn(rawLine{off: base + int64(off), line: data[off : off+i]}) {
			return false
		}
		off += i + 1
	}
	return true
}
