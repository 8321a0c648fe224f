package ledger

import (
	"bytes"
	"context"
	"fmt"

	"github.com/transparency-dev/merkle/proof"

	"github.com/complyhq/comply/store"
)

// ConsistencyFormat is the format name of a ConsistencyProof.
const ConsistencyFormat = "comply-consistency-proof/v1"

// A ConsistencyProof shows that the signed tree of ToSize leaves extends
// the signed tree of FromSize leaves: nothing the first checkpoint signed
// was changed or removed from the log by the second. Hashes are the RFC
// 6962 consistency proof (base64 in JSON).
type ConsistencyProof struct {
	Format   string   `json:"format"`
	Origin   string   `json:"origin"`
	FromSize uint64   `json:"from_size"`
	ToSize   uint64   `json:"to_size"`
	Hashes   [][]byte `json:"hashes"`
}

// ProveConsistency returns the consistency proof between two checkpoints
// of the same log, from its leaf tiles. The leaves must produce both
// checkpoints' roots (else an error wrapping ErrTampered): it proves only
// what holds. from must not be larger than to.
func ProveConsistency(ctx context.Context, sc store.Sidecar, from, to *Checkpoint) (*ConsistencyProof, error) {
	if from.Origin != to.Origin {
		return nil, fmt.Errorf("ledger: consistency: checkpoints of %s and %s", from.Origin, to.Origin)
	}
	if from.Size > to.Size {
		return nil, fmt.Errorf("ledger: consistency: from a tree of %d leaves to a smaller one of %d", from.Size, to.Size)
	}
	leaves, err := readLeaves(ctx, sc, Slug(to.Origin), to.Size)
	if err != nil {
		return nil, fmt.Errorf("ledger: consistency of %s: %w", to.Origin, err)
	}
	roots := rootsAt(leaves, []uint64{from.Size, to.Size})
	if !bytes.Equal(roots[0], from.Root) || !bytes.Equal(roots[1], to.Root) {
		return nil, fmt.Errorf("ledger: consistency: %w: the leaves of %s do not produce its checkpoints' roots", ErrTampered, to.Origin)
	}
	p := &ConsistencyProof{Format: ConsistencyFormat, Origin: to.Origin, FromSize: from.Size, ToSize: to.Size, Hashes: [][]byte{}}
	if from.Size == 0 || from.Size == to.Size {
		return p, nil
	}
	nodes, err := proof.Consistency(from.Size, to.Size)
	if err != nil {
		return nil, fmt.Errorf("ledger: consistency: %w", err)
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		b, e := id.Coverage()
		hashes[i] = subtreeHash(leaves, b, e)
	}
	if p.Hashes, err = nodes.Rehash(hashes, hashChildren); err != nil {
		return nil, fmt.Errorf("ledger: consistency: %w", err)
	}
	return p, nil
}

// VerifyConsistency checks a consistency proof offline against the two
// checkpoints it joins (whose signatures the caller has checked). A proof
// that does not hold wraps ErrProof.
func VerifyConsistency(p *ConsistencyProof, from, to *Checkpoint) error {
	switch {
	case from.Origin != p.Origin || to.Origin != p.Origin:
		return fmt.Errorf("%w: the proof is of %s, the checkpoints of %s and %s", ErrProof, clip(p.Origin), from.Origin, to.Origin)
	case from.Size != p.FromSize || to.Size != p.ToSize:
		return fmt.Errorf("%w: the proof joins trees of %d and %d leaves, the checkpoints sign %d and %d", ErrProof, p.FromSize, p.ToSize, from.Size, to.Size)
	case from.Size == 0:
		if len(p.Hashes) != 0 {
			return fmt.Errorf("%w: a proof from the empty tree has no hashes", ErrProof)
		}
		return nil
	}
	if err := proof.VerifyConsistency(hasher, from.Size, to.Size, p.Hashes, from.Root, to.Root); err != nil {
		return fmt.Errorf("%w: the tree of %d leaves does not extend the tree of %d: %v", ErrProof, to.Size, from.Size, err)
	}
	return nil
}

// Marshal returns the proof's JSON form, indented.
func (p *ConsistencyProof) Marshal() ([]byte, error) { return indentJSON(p) }

// ParseConsistencyProof parses a consistency proof's JSON form.
func ParseConsistencyProof(b []byte) (*ConsistencyProof, error) {
	p, err := decodeStrict[ConsistencyProof](b, "comply consistency proof")
	if err != nil {
		return nil, err
	}
	if p.Format != ConsistencyFormat {
		return nil, fmt.Errorf("ledger: consistency proof format %q, want %q", clip(p.Format), ConsistencyFormat)
	}
	if len(p.Hashes) > 128 {
		return nil, fmt.Errorf("ledger: consistency proof of %d hashes, at most 128", len(p.Hashes))
	}
	for _, h := range p.Hashes {
		if len(h) != 32 {
			return nil, fmt.Errorf("ledger: consistency proof hash of %d bytes, want 32", len(h))
		}
	}
	return p, nil
}
