package ledger

import (
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
)

// proveBatch returns the root of the tree of the first size leaves and
// the RFC 6962 inclusion proofs of the leaves at indexes in it, in one pass
// over those leaves: it lists the perfect subtrees every proof needs, then
// appends the leaves to a compact range, which computes each node of the
// tree once, and keeps the hashes of the listed nodes as the range visits
// them. N proofs cost one pass, not N. Every index must be below size,
// and size at most len(leaves).
func proveBatch(leaves []Leaf, size uint64, indexes []uint64) (root []byte, proofs [][][]byte, err error) {
	if size > uint64(len(leaves)) {
		return nil, nil, fmt.Errorf("prove: a tree of %d leaves, %d read", size, len(leaves))
	}
	nodes := make([]proof.Nodes, len(indexes))
	want := map[compact.NodeID][]byte{}
	for i, idx := range indexes {
		if nodes[i], err = proof.Inclusion(idx, size); err != nil {
			return nil, nil, fmt.Errorf("prove leaf %d: %w", idx, err)
		}
		for _, id := range nodes[i].IDs {
			want[id] = nil
		}
	}
	// The levels that hold a wanted node: the visitor looks no further
	// for the others (most of the calls).
	var levels uint64
	for id := range want {
		levels |= 1 << id.Level
	}
	visit := func(id compact.NodeID, hash []byte) {
		if levels&(1<<id.Level) == 0 {
			return
		}
		if _, ok := want[id]; ok {
			want[id] = hash
		}
	}
	if len(want) == 0 {
		visit = nil
	}
	r := factory.NewEmptyRange(0)
	for i := range leaves[:size] {
		if err := r.Append(leaves[i].Hash[:], visit); err != nil {
			panic(err) // unreachable: Append fails only on a bad factory
		}
	}
	root = rootOf(r)
	proofs = make([][][]byte, len(indexes))
	for i, n := range nodes {
		hashes := make([][]byte, len(n.IDs))
		for k, id := range n.IDs {
			hashes[k] = want[id]
		}
		if proofs[i], err = n.Rehash(hashes, hashChildren); err != nil {
			return nil, nil, fmt.Errorf("prove leaf %d: %w", indexes[i], err)
		}
	}
	return root, proofs, nil
}
