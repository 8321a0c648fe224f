package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"testing"

	"github.com/transparency-dev/merkle/proof"
)

// naiveProof is the inclusion proof computed node by node from the
// leaves, as Prove did before proveBatch: the reference.
func naiveProof(t *testing.T, leaves []Leaf, index, size uint64) [][]byte {
	t.Helper()
	nodes, err := proof.Inclusion(index, size)
	if err != nil {
		t.Fatal(err)
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		b, e := id.Coverage()
		hashes[i] = subtreeHash(leaves, b, e)
	}
	out, err := nodes.Rehash(hashes, hashChildren)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func testLeaves(n int) []Leaf {
	leaves := make([]Leaf, n)
	for i := range leaves {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(i))
		leaves[i] = Leaf{Hash: sha256.Sum256(b[:]), Time: int64(i)}
	}
	return leaves
}

func TestProveBatch(t *testing.T) {
	t.Parallel()
	leaves := testLeaves(300)
	tests := []struct {
		name    string
		size    uint64
		indexes []uint64
	}{
		{"one leaf", 1, []uint64{0}},
		{"no proof, the root only", 37, nil},
		{"every leaf of an odd tree", 37, seq(37)},
		{"every leaf of a perfect tree", 64, seq(64)},
		{"a prefix of the leaves", 200, []uint64{0, 1, 127, 128, 199}},
		{"the same leaf twice", 300, []uint64{5, 5, 299}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, proofs, err := proveBatch(leaves, tt.size, tt.indexes)
			if err != nil {
				t.Fatal(err)
			}
			if want := rootsAt(leaves, []uint64{tt.size})[0]; !bytes.Equal(root, want) {
				t.Fatalf("root %x, want %x", root, want)
			}
			if len(proofs) != len(tt.indexes) {
				t.Fatalf("%d proofs for %d indexes", len(proofs), len(tt.indexes))
			}
			for i, idx := range tt.indexes {
				want := naiveProof(t, leaves, idx, tt.size)
				if len(proofs[i]) != len(want) {
					t.Fatalf("leaf %d: %d hashes, want %d", idx, len(proofs[i]), len(want))
				}
				for k := range want {
					if !bytes.Equal(proofs[i][k], want[k]) {
						t.Fatalf("leaf %d: hash %d differs from the reference", idx, k)
					}
				}
				if err := proof.VerifyInclusion(hasher, idx, tt.size, leaves[idx].Hash[:], proofs[i], root); err != nil {
					t.Fatalf("leaf %d: %v", idx, err)
				}
			}
		})
	}
	if _, _, err := proveBatch(leaves, 10, []uint64{10}); err == nil {
		t.Error("a leaf beyond the tree: no error")
	}
	if _, _, err := proveBatch(leaves, 301, nil); err == nil {
		t.Error("a tree larger than the leaves: no error")
	}
}

func seq(n uint64) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = uint64(i)
	}
	return out
}
