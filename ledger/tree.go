package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/rfc6962"
)

var (
	hasher  = rfc6962.DefaultHasher
	factory = &compact.RangeFactory{Hash: hashChildren}
)

// hashChildren is rfc6962.DefaultHasher.HashChildren for 32-byte hashes,
// with one allocation instead of three: SHA-256 of 0x01, left, right.
func hashChildren(l, r []byte) []byte {
	var b [1 + 32 + 32]byte
	b[0] = rfc6962.RFC6962NodeHashPrefix
	copy(b[1:33], l)
	copy(b[33:], r)
	h := sha256.Sum256(b[:])
	return h[:]
}

// leafPrefix is written before a line to hash it as a leaf.
var leafPrefix = []byte{rfc6962.RFC6962LeafHashPrefix}

// rootOf returns the root hash of a compact range that starts at 0.
func rootOf(r *compact.Range) []byte {
	if r.End() == 0 {
		return hasher.EmptyRoot()
	}
	root, err := r.GetRootHash(nil)
	if err != nil {
		panic(err) // unreachable: ranges here start at 0
	}
	return root
}

// appendLeaves appends the leaves' hashes to r. The range keeps references
// to the hashes: leaves must not be modified afterwards.
func appendLeaves(r *compact.Range, leaves []Leaf) {
	for i := range leaves {
		if err := r.Append(leaves[i].Hash[:], nil); err != nil {
			panic(err) // unreachable: Append fails only on a bad factory
		}
	}
}

// rootsAt returns the root hashes of the trees of the first sizes[i]
// leaves, in one pass. sizes must be ascending and at most len(leaves).
func rootsAt(leaves []Leaf, sizes []uint64) [][]byte {
	out := make([][]byte, len(sizes))
	r := factory.NewEmptyRange(0)
	for i, s := range sizes {
		appendLeaves(r, leaves[r.End():s])
		out[i] = rootOf(r)
	}
	return out
}

// subtreeHash returns the hash of the perfect subtree over leaves [b, e).
func subtreeHash(leaves []Leaf, b, e uint64) []byte {
	if e-b == 1 {
		return leaves[b].Hash[:]
	}
	r := factory.NewEmptyRange(b)
	appendLeaves(r, leaves[b:e])
	h := r.Hashes()
	if len(h) != 1 {
		panic(fmt.Sprintf("ledger: [%d, %d) is not a perfect subtree", b, e))
	}
	return h[0]
}

// A hashIndex finds leaves by hash: open addressing over the leaves'
// positions, keyed by the first 8 bytes of the (uniformly random) hash.
// Several leaves may share a hash (identical lines).
type hashIndex struct {
	leaves []Leaf
	slots  []uint32 // position+1; 0 marks an empty slot
	mask   uint64
}

func newHashIndex(leaves []Leaf) *hashIndex { return newHashIndexOf(leaves, nil) }

// newHashIndexOf indexes the leaves but those that skip (if not nil)
// marks.
func newHashIndexOf(leaves []Leaf, skip []bool) *hashIndex {
	kept := len(leaves)
	if skip != nil {
		kept = 0
		for _, s := range skip {
			if !s {
				kept++
			}
		}
	}
	n := uint64(1) << bits.Len64(uint64(kept)*2+1)
	x := &hashIndex{leaves: leaves, slots: make([]uint32, n), mask: n - 1}
	for i := range leaves {
		if skip != nil && skip[i] {
			continue
		}
		s := binary.LittleEndian.Uint64(leaves[i].Hash[:8]) & x.mask
		for x.slots[s] != 0 {
			s = (s + 1) & x.mask
		}
		x.slots[s] = uint32(i + 1)
	}
	return x
}

// find returns the first leaf position with hash h for which avail
// reports true, and whether any leaf has the hash at all.
func (x *hashIndex) find(h *[32]byte, avail func(int) bool) (pos int, known bool) {
	s := binary.LittleEndian.Uint64(h[:8]) & x.mask
	for {
		p := x.slots[s]
		if p == 0 {
			return -1, known
		}
		if x.leaves[p-1].Hash == *h {
			known = true
			if avail == nil || avail(int(p-1)) {
				return int(p - 1), true
			}
		}
		s = (s + 1) & x.mask
	}
}
