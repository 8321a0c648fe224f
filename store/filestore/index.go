package filestore

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
)

// The index sidecar of a segment, .comply/index/<segment>.idx, format 1:
//
//	header, 64 bytes, little-endian:
//	  0  magic "CMPLYIDX"
//	  8  version uint32 (1)
//	 12  entry size uint32 (32)
//	 16  covered uint64: bytes of the segment the index describes
//	 24  count uint64: entries
//	 32  corrupt uint64: lines in the covered bytes that could not be read
//	 40  min time int64, unix microseconds
//	 48  max time int64, unix microseconds
//	 56  tail CRC-32C uint32 of the (up to) 4096 segment bytes before covered
//	 60  header CRC-32C uint32 of bytes 0-59
//	entries, count × 32 bytes, sorted by key:
//	  0  key [16]byte: the UUID's bytes, or the first 16 bytes of the
//	     SHA-256 of an id that is not a UUID
//	 16  offset uint64 of the line in the segment
//	 24  time int64, unix microseconds
//	trailer: CRC-32C uint32 of the entries
//
// An index is a cache: it is rebuilt from the segment when it is missing,
// damaged or stale (the segment is shorter than covered, or its bytes before
// covered no longer match the tail CRC); when the segment is longer than
// covered, only the lines past covered are read.
const (
	idxMagic    = "CMPLYIDX"
	idxVersion  = 1
	idxHeader   = 64
	idxEntry    = 32
	tailCRCSpan = 4096
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type key [16]byte

// keyOf returns the index key of an id: the UUID's 16 bytes when id is a
// canonical UUID, a hash of it otherwise. Lookups confirm the id on the
// line, so a collision costs a read, never a wrong answer.
func keyOf(id string) key {
	var k key
	if len(id) == 36 && id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-' {
		j, ok := 0, true
		for i := 0; i < 36 && ok; i += 2 {
			if i == 8 || i == 13 || i == 18 || i == 23 {
				i--
				continue
			}
			hi, ok1 := unhex(id[i])
			lo, ok2 := unhex(id[i+1])
			ok = ok1 && ok2
			k[j] = hi<<4 | lo
			j++
		}
		if ok && j == 16 {
			return k
		}
	}
	sum := sha256.Sum256([]byte(id))
	copy(k[:], sum[:16])
	return k
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// An entry locates one line.
type entry struct {
	key  key
	off  int64
	time int64 // unix µs
}

// stats summarise the lines of a stretch of a segment.
type stats struct {
	count, corrupt int64
	minT, maxT     int64 // unix µs; meaningful when count > 0
}

func (s *stats) add(t int64) {
	if s.count == 0 || t < s.minT {
		s.minT = t
	}
	if s.count == 0 || t > s.maxT {
		s.maxT = t
	}
	s.count++
}

func (s *stats) merge(o stats) {
	if o.count > 0 {
		if s.count == 0 || o.minT < s.minT {
			s.minT = o.minT
		}
		if s.count == 0 || o.maxT > s.maxT {
			s.maxT = o.maxT
		}
	}
	s.count += o.count
	s.corrupt += o.corrupt
}

// A sealed index is the mapped sidecar file of a segment. Its header (and
// the segment's tail CRC) is checked when it is loaded; its entries are
// checked there too by a writer, and by a reader on first use (checked):
// the header alone answers counts and time bounds, and a reader that never
// looks an entry up never reads the entries' pages.
type sealed struct {
	covered int64
	stats   stats
	mapping []byte // the whole mapping, for munmap
	raw     []byte // the mapped entries, count × idxEntry, not yet checked
	sum     uint32 // the trailer: CRC-32C of raw

	once sync.Once
	data []byte // the checked entries (raw, or rebuilt from the segment)
	err  error  // why the entries cannot be used
}

func (x *sealed) close() {
	if x != nil && x.mapping != nil {
		unmapFile(x.mapping)
		x.mapping, x.raw, x.data = nil, nil, nil
	}
}

// checked returns the index's entries once they have passed their CRC.
// Entries that fail it are never used: they are rebuilt in memory from the
// covered bytes of the segment seg (the sidecar stays as it is until a
// writer opens the store and rewrites it). A rebuild that disagrees with
// the header, which was checked, and whose counts have answered already,
// is an error. Safe for concurrent use; the work is done once.
func (x *sealed) checked(seg *os.File, maxLine int) ([]byte, error) {
	if x == nil {
		return nil, nil
	}
	x.once.Do(func() {
		if crc32.Checksum(x.raw, castagnoli) == x.sum {
			x.data = x.raw
			return
		}
		es, st, err := indexLines(seg, 0, x.covered, maxLine)
		switch {
		case err != nil:
			x.err = fmt.Errorf("rebuild the damaged index of %s: %w", filepath.Base(seg.Name()), err)
		case st != x.stats:
			x.err = fmt.Errorf("index of %s: %w: its entries are damaged and its header disagrees with the file", filepath.Base(seg.Name()), errStaleIndex)
		default:
			sortEntries(es)
			x.data = make([]byte, len(es)*idxEntry)
			putEntries(x.data, es)
		}
	})
	return x.data, x.err
}

// find returns the offsets of the lines whose key is k in data, checked
// entries.
func find(data []byte, k key) []int64 {
	n := len(data) / idxEntry
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(data[m*idxEntry:m*idxEntry+16], k[:]) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	var offs []int64
	for ; lo < n && bytes.Equal(data[lo*idxEntry:lo*idxEntry+16], k[:]); lo++ {
		offs = append(offs, int64(binary.LittleEndian.Uint64(data[lo*idxEntry+16:])))
	}
	return offs
}

// appendEntries appends the entries of data, checked entries, to dst.
func appendEntries(dst []entry, data []byte) []entry {
	for i := 0; i+idxEntry <= len(data); i += idxEntry {
		var e entry
		copy(e.key[:], data[i:])
		e.off = int64(binary.LittleEndian.Uint64(data[i+16:]))
		e.time = int64(binary.LittleEndian.Uint64(data[i+24:]))
		dst = append(dst, e)
	}
	return dst
}

// indexLines reads the complete lines of f in [from, to) and returns their
// entries, in file order, and their stats.
func indexLines(f *os.File, from, to int64, maxLine int) ([]entry, stats, error) {
	var es []entry
	var st stats
	lr := newLineReader(f, from, to, maxLine)
	for {
		off, b, err := lr.next()
		if err == io.EOF {
			return es, st, nil
		}
		if err != nil && !errors.Is(err, errLineTooLong) {
			return nil, stats{}, fmt.Errorf("read %s: %w", filepath.Base(f.Name()), err)
		}
		if err == nil {
			var id string
			var ts int64
			if id, ts, err = peek(b); err == nil {
				es = append(es, entry{key: keyOf(id), off: off, time: ts})
				st.add(ts)
			}
		}
		if err != nil {
			st.corrupt++
		}
	}
}

var errStaleIndex = errors.New("stale index")

// loadIndex maps the index at path and checks it against the segment file
// seg of size segSize: its header and the segment's tail CRC, and, when
// eager is set, its entries' CRC (otherwise sealed.checked does on first
// use). It returns errStaleIndex (or another error) when the index cannot
// be used.
func loadIndex(path string, seg *os.File, segSize int64, eager bool) (*sealed, error) {
	f, err := openFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	size := fi.Size()
	if size < idxHeader+4 {
		return nil, fmt.Errorf("index %s: %w: too short", path, errStaleIndex)
	}
	m, err := mapFile(f, int(size))
	if err != nil {
		return nil, fmt.Errorf("map index %s: %w", path, err)
	}
	x, err := checkIndex(m, seg, segSize, eager)
	if err != nil {
		unmapFile(m)
		return nil, fmt.Errorf("index %s: %w", path, err)
	}
	return x, nil
}

func checkIndex(m []byte, seg *os.File, segSize int64, eager bool) (*sealed, error) {
	h := m[:idxHeader]
	le := binary.LittleEndian
	if string(h[:8]) != idxMagic || le.Uint32(h[8:]) != idxVersion || le.Uint32(h[12:]) != idxEntry {
		return nil, fmt.Errorf("%w: bad magic or version", errStaleIndex)
	}
	if crc32.Checksum(h[:60], castagnoli) != le.Uint32(h[60:]) {
		return nil, fmt.Errorf("%w: header checksum mismatch", errStaleIndex)
	}
	x := &sealed{
		covered: int64(le.Uint64(h[16:])),
		stats: stats{
			count:   int64(le.Uint64(h[24:])),
			corrupt: int64(le.Uint64(h[32:])),
			minT:    int64(le.Uint64(h[40:])),
			maxT:    int64(le.Uint64(h[48:])),
		},
		mapping: m,
	}
	end := idxHeader + x.stats.count*idxEntry
	if x.stats.count < 0 || end+4 != int64(len(m)) {
		return nil, fmt.Errorf("%w: size does not match the entry count", errStaleIndex)
	}
	if x.covered < 0 || x.covered > segSize {
		return nil, fmt.Errorf("%w: covers %d bytes of a %d-byte segment", errStaleIndex, x.covered, segSize)
	}
	crc, err := tailCRC(seg, x.covered)
	if err != nil {
		return nil, err
	}
	if crc != le.Uint32(h[56:]) {
		return nil, fmt.Errorf("%w: segment changed under the index", errStaleIndex)
	}
	x.raw, x.sum = m[idxHeader:end], le.Uint32(m[end:])
	if eager {
		if crc32.Checksum(x.raw, castagnoli) != x.sum {
			return nil, fmt.Errorf("%w: entries checksum mismatch", errStaleIndex)
		}
		x.once.Do(func() { x.data = x.raw })
	}
	return x, nil
}

// tailCRC returns the CRC-32C of the up to tailCRCSpan bytes of f before off.
func tailCRC(f *os.File, off int64) (uint32, error) {
	n := min(off, tailCRCSpan)
	buf := make([]byte, n)
	if _, err := f.ReadAt(buf, off-n); err != nil && !(err == io.EOF && n == 0) {
		return 0, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	return crc32.Checksum(buf, castagnoli), nil
}

// writeIndex writes the index of the first covered bytes of seg, whose
// entries are es (sorted here), to path atomically. An index is a cache, so
// it is not fsynced: after a crash a damaged one fails its checksums and is
// rebuilt.
func writeIndex(path string, seg *os.File, covered int64, st stats, es []entry) error {
	sortEntries(es)
	crc, err := tailCRC(seg, covered)
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	buf := make([]byte, idxHeader+len(es)*idxEntry+4)
	h := buf[:idxHeader]
	copy(h, idxMagic)
	le.PutUint32(h[8:], idxVersion)
	le.PutUint32(h[12:], idxEntry)
	le.PutUint64(h[16:], uint64(covered))
	le.PutUint64(h[24:], uint64(len(es)))
	le.PutUint64(h[32:], uint64(st.corrupt))
	le.PutUint64(h[40:], uint64(st.minT))
	le.PutUint64(h[48:], uint64(st.maxT))
	le.PutUint32(h[56:], crc)
	le.PutUint32(h[60:], crc32.Checksum(h[:60], castagnoli))
	putEntries(buf[idxHeader:], es)
	end := len(buf) - 4
	le.PutUint32(buf[end:], crc32.Checksum(buf[idxHeader:end], castagnoli))
	// A fresh file, never one found there (which may be a planted link).
	tmp := path + ".tmp"
	os.Remove(tmp)
	f, err := openFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	_, err = f.Write(buf)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write index: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

// sortEntries sorts es as an index holds them: by key, then offset.
func sortEntries(es []entry) {
	slices.SortFunc(es, func(a, b entry) int {
		if c := bytes.Compare(a.key[:], b.key[:]); c != 0 {
			return c
		}
		return cmp.Compare(a.off, b.off)
	})
}

// putEntries encodes es into p, len(es) × idxEntry bytes.
func putEntries(p []byte, es []entry) {
	le := binary.LittleEndian
	for i, e := range es {
		b := p[i*idxEntry:]
		copy(b, e.key[:])
		le.PutUint64(b[16:], uint64(e.off))
		le.PutUint64(b[24:], uint64(e.time))
	}
}
