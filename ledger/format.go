package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Blob layout, under the store's Sidecar:
//
//	ledger/<slug>/checkpoint            the latest signed checkpoint
//	ledger/<slug>/checkpoints/YYYYMMDD  that UTC day's checkpoint history
//	ledger/<slug>/leaves/NNNNNNNN       leaf tile N: leaves [N*TileSize, (N+1)*TileSize)
//	ledger/<slug>/deletions/NNNNNNNNNNNN signed deletion record N
//
// where <slug> is the origin made safe for a blob name (see Slug).
const (
	blobRoot       = "ledger/"
	latestName     = "checkpoint"
	historyDir     = "checkpoints/"
	leavesDir      = "leaves/"
	deletionsDir   = "deletions/"
	tileNameDigits = 8
	delNameDigits  = 12
)

// TileSize is the number of leaf records in a full leaf tile. Tiles are
// aligned to it, so a full tile is a perfect subtree of the Merkle tree.
const TileSize = 4096

// tileMagic starts every leaf tile; the version changes with the format.
const tileMagic = "comply-leaves/v1\n"

// leafSize is the size of one leaf record in a tile: the 32-byte RFC 6962
// leaf hash, then the entry's timestamp as big-endian Unix microseconds.
const leafSize = 32 + 8

// A Leaf is one leaf of the log: the RFC 6962 leaf hash of an entry's exact
// line bytes and the entry's timestamp (Unix microseconds), which tells a
// restarted writer how far back to look for lines whose leaves were not yet
// persisted, and tells Verify which day's file an entry went to.
type Leaf struct {
	Hash [32]byte
	Time int64 // Unix microseconds, UTC
}

// HashLine returns the RFC 6962 leaf hash of a line: SHA-256 of a zero byte
// followed by the line's bytes, without the newline.
func HashLine(line []byte) [32]byte {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(line)
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// Slug returns the blob-name form of an origin: letters, digits, '-', '_'
// and '.' are kept, every other character becomes '-'. A long origin is
// cut and suffixed with a hash of the whole, so distinct origins keep
// distinct slugs in practice.
func Slug(origin string) string {
	var b strings.Builder
	for _, c := range origin {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' {
			b.WriteRune(c)
		} else {
			b.WriteByte('-')
		}
	}
	s := b.String()
	if len(s) > 80 || s == "" || s == "." || s == ".." {
		sum := sha256.Sum256([]byte(origin))
		s = strings.Trim(s[:min(len(s), 60)], ".") + "-" + hex.EncodeToString(sum[:4])
	}
	return s
}

func prefixOf(slug string) string   { return blobRoot + slug + "/" }
func latestBlob(slug string) string { return prefixOf(slug) + latestName }
func historyBlob(slug string, t time.Time) string {
	return prefixOf(slug) + historyDir + t.UTC().Format("20060102")
}
func tileBlob(slug string, n uint64) string {
	return fmt.Sprintf("%s%s%0*d", prefixOf(slug), leavesDir, tileNameDigits, n)
}
func deletionBlob(slug string, n int) string {
	return fmt.Sprintf("%s%s%0*d", prefixOf(slug), deletionsDir, delNameDigits, n)
}

// parseSeq parses the number at the end of a tile or deletion blob name.
func parseSeq(name, dir string, digits int) (uint64, bool) {
	i := strings.LastIndex(name, "/"+strings.TrimSuffix(dir, "/")+"/")
	if i < 0 {
		return 0, false
	}
	s := name[i+len(dir)+1:]
	if len(s) != digits {
		return 0, false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// AppendTile appends the encoding of a leaf tile holding leaves to dst.
func AppendTile(dst []byte, leaves []Leaf) []byte {
	dst = append(dst, tileMagic...)
	for i := range leaves {
		dst = append(dst, leaves[i].Hash[:]...)
		dst = binary.BigEndian.AppendUint64(dst, uint64(leaves[i].Time))
	}
	return dst
}

// errTile is wrapped by every tile parse error.
var errTile = errors.New("malformed leaf tile")

// ParseTile parses a leaf tile: the magic line, then up to TileSize
// records of 40 bytes.
func ParseTile(b []byte) ([]Leaf, error) {
	return appendTile(nil, b, TileSize)
}

// appendTile parses a leaf tile as ParseTile does and appends its first
// max leaves (at most) to dst, without a copy of its own.
func appendTile(dst []Leaf, b []byte, max int) ([]Leaf, error) {
	if len(b) < len(tileMagic) || string(b[:len(tileMagic)]) != tileMagic {
		return dst, fmt.Errorf("%w: bad header (want %q)", errTile, strings.TrimSpace(tileMagic))
	}
	b = b[len(tileMagic):]
	if len(b)%leafSize != 0 {
		return dst, fmt.Errorf("%w: %d bytes of records is not a multiple of %d", errTile, len(b), leafSize)
	}
	n := len(b) / leafSize
	if n > TileSize {
		return dst, fmt.Errorf("%w: %d records, at most %d", errTile, n, TileSize)
	}
	dst = slices.Grow(dst, min(n, max))
	for i := range min(n, max) {
		r := b[i*leafSize:]
		var lf Leaf
		copy(lf.Hash[:], r[:32])
		lf.Time = int64(binary.BigEndian.Uint64(r[32:40]))
		dst = append(dst, lf)
	}
	return dst, nil
}

// dayOf returns the UTC date of a leaf time as YYYYMMDD.
func dayOf(us int64) int32 {
	y, m, d := time.UnixMicro(us).UTC().Date()
	return int32(y*10000 + int(m)*100 + d)
}

// dayTime returns midnight UTC of a YYYYMMDD day.
func dayTime(day int32) time.Time {
	return time.Date(int(day/10000), time.Month(day/100%100), int(day%100), 0, 0, 0, 0, time.UTC)
}
