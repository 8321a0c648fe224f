package skipfilter

import (
	"encoding/binary"
	"math"

	"github.com/cespare/xxhash/v2"
)

// BlockBytes is the size of one block of a Filter.
const BlockBytes = 32

// salt holds the eight odd constants of the Parquet split-block Bloom
// filter: word i of a block gets the bit (key*salt[i]) >> 27.
var salt = [8]uint32{
	0x47b6137b, 0x44974d91, 0x8824ad5b, 0xa2b7289d,
	0x705495c7, 0x2df1424b, 0x9efc4947, 0x5c6bfb31,
}

// BitsPerValue is the filter size per distinct value that New uses: about
// 1% false positives (measured by the tests; Parquet's formula for 1%
// gives 9.7 bits, which split blocks do not quite reach).
const BitsPerValue = 11

// MaxBlocks bounds the blocks of one filter (256 MiB), so that a damaged
// count never asks for more memory than a real filter could use.
const MaxBlocks = 1 << 23

// A Filter is a split-block Bloom filter. The zero Filter holds nothing
// and reports every value absent. A Filter is not safe for concurrent
// writes; concurrent MayContain calls are safe.
type Filter struct {
	// data holds the blocks as encoded: 8 little-endian uint32 words
	// each, so that a decoded Filter shares its blob's bytes.
	data []byte
}

// New returns an empty Filter sized for n distinct values at about 1%
// false positives (one block at least).
func New(n int) *Filter {
	nb := int(math.Ceil(float64(n) * BitsPerValue / (BlockBytes * 8)))
	return &Filter{data: make([]byte, BlockBytes*min(max(nb, 1), MaxBlocks))}
}

// Hash returns the 64-bit hash of a value that Add and MayContain take:
// XXH64 with seed 0, as Parquet's filters use.
func Hash(value string) uint64 { return xxhash.Sum64String(value) }

// Blocks returns the number of 32-byte blocks.
func (f *Filter) Blocks() int { return len(f.data) / BlockBytes }

// block returns the index of the block for h: the high 32 bits of h
// scaled to the number of blocks.
func (f *Filter) block(h uint64) int {
	return int((h >> 32) * uint64(f.Blocks()) >> 32)
}

// Add inserts the value whose Hash is h.
func (f *Filter) Add(h uint64) {
	if len(f.data) == 0 {
		return
	}
	b, key := f.data[f.block(h)*BlockBytes:][:BlockBytes], uint32(h)
	for i := range salt {
		w := b[4*i:]
		binary.LittleEndian.PutUint32(w, binary.LittleEndian.Uint32(w)|1<<((key*salt[i])>>27))
	}
}

// MayContain reports whether the value whose Hash is h may have been
// added: false means it certainly was not.
func (f *Filter) MayContain(h uint64) bool {
	if len(f.data) == 0 {
		return false
	}
	b, key := f.data[f.block(h)*BlockBytes:][:BlockBytes], uint32(h)
	for i := range salt {
		if binary.LittleEndian.Uint32(b[4*i:])&(1<<((key*salt[i])>>27)) == 0 {
			return false
		}
	}
	return true
}
