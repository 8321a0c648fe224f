package ledger

import (
	"encoding/binary"
	"fmt"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"

	"github.com/complyhq/comply/store"
)

// proveBatch returns the root of the tree of the first size leaves and
// the RFC 6962 inclusion proofs of the leaves at indexes in it, in one pass
// over those leaves (treePass).
func proveBatch(leaves []Leaf, size uint64, indexes []uint64) (root []byte, proofs [][][]byte, err error) {
	roots, proofs, err := treePass(leaves, []uint64{size}, size, indexes)
	if err != nil {
		return nil, nil, err
	}
	return roots[0], proofs, nil
}

// treePass returns the root hashes of the trees of the first sizes[i]
// leaves (sizes ascending, at most len(leaves)) and the RFC 6962 inclusion
// proofs of the leaves at indexes in the tree of the first proofSize, in
// one pass over the leaves: it lists the perfect subtrees every proof
// needs, then appends the leaves to a compact range, which computes each
// node of the tree once, and keeps the hashes of the listed nodes as the
// range visits them. N proofs cost one pass, not N. Every index must be
// below proofSize, and proofSize at most len(leaves) when there are
// indexes.
func treePass(leaves []Leaf, sizes []uint64, proofSize uint64, indexes []uint64) (roots [][]byte, proofs [][][]byte, err error) {
	for _, s := range sizes {
		if s > uint64(len(leaves)) {
			return nil, nil, fmt.Errorf("prove: a tree of %d leaves, %d read", s, len(leaves))
		}
	}
	if len(indexes) > 0 && proofSize > uint64(len(leaves)) {
		return nil, nil, fmt.Errorf("prove: a tree of %d leaves, %d read", proofSize, len(leaves))
	}
	nodes := make([]proof.Nodes, len(indexes))
	want := map[compact.NodeID][]byte{}
	for i, idx := range indexes {
		if nodes[i], err = proof.Inclusion(idx, proofSize); err != nil {
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
	var visit compact.VisitFn
	if len(want) > 0 {
		visit = func(id compact.NodeID, hash []byte) {
			if levels&(1<<id.Level) == 0 {
				return
			}
			if _, ok := want[id]; ok {
				want[id] = hash
			}
		}
	}
	r := factory.NewEmptyRange(0)
	end := uint64(0)
	for _, s := range sizes {
		end = max(end, s)
	}
	if len(indexes) > 0 {
		end = max(end, proofSize)
	}
	roots = make([][]byte, len(sizes))
	k := 0
	for i := uint64(0); ; i++ {
		for k < len(sizes) && sizes[k] == i {
			roots[k] = rootOf(r)
			k++
		}
		if i == end {
			break
		}
		if err := r.Append(leaves[i].Hash[:], visit); err != nil {
			panic(err) // unreachable: Append fails only on a bad factory
		}
	}
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
	return roots, proofs, nil
}

// leavesOf returns, for each record, the index of its leaf among the
// leaves, or -1: the last leaf of its line's hash and its time, else the
// first of its hash (an identical line written twice).
func leavesOf(leaves []Leaf, recs []store.Record) []int {
	at := make([]int, len(recs))
	want := make(map[uint64][]int, len(recs)) // by the hash's first 8 bytes
	hashes := make([][32]byte, len(recs))
	for i := range recs {
		at[i] = -1
		if len(recs[i].Line) == 0 {
			continue
		}
		hashes[i] = HashLine(recs[i].Line)
		k := binary.LittleEndian.Uint64(hashes[i][:8])
		want[k] = append(want[k], i)
	}
	for idx := range leaves {
		is, ok := want[binary.LittleEndian.Uint64(leaves[idx].Hash[:8])]
		if !ok {
			continue
		}
		for _, i := range is {
			if leaves[idx].Hash == hashes[i] && (at[i] < 0 || leaves[idx].Time == recs[i].Time.UnixMicro()) {
				at[i] = idx
			}
		}
	}
	return at
}

// proofsAt returns the proofs of the records whose leaf at[i] is not -1,
// against the signed checkpoint (note) of a tree of size leaves, with
// hashes the audit paths of those leaves in order.
func proofsAt(recs []store.Record, at []int, size uint64, note []byte, hashes [][][]byte) []*Proof {
	out := make([]*Proof, len(recs))
	k := 0
	for i, idx := range at {
		if idx < 0 {
			continue
		}
		out[i] = &Proof{Format: ProofFormat, Line: string(recs[i].Line), LeafIndex: uint64(idx), TreeSize: size, Hashes: hashes[k], Checkpoint: string(note)}
		k++
	}
	return out
}

// indexesOf returns the leaf indexes of at that are not -1, in order.
func indexesOf(at []int) []uint64 {
	var out []uint64
	for _, idx := range at {
		if idx >= 0 {
			out = append(out, uint64(idx))
		}
	}
	return out
}
