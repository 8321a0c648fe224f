package ledger

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/transparency-dev/merkle/proof"
	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// ProofFormat is the format name of a Proof.
const ProofFormat = "comply-inclusion-proof/v1"

// A Proof shows that one entry is in a signed log, without the other
// entries: the entry's exact line, its leaf index, the RFC 6962 audit path
// to the root, and the signed checkpoint of that root. Its JSON form is
// what 'comply prove' writes; hashes are base64.
type Proof struct {
	Format     string   `json:"format"`
	Line       string   `json:"line"`
	LeafIndex  uint64   `json:"leaf_index"`
	TreeSize   uint64   `json:"tree_size"`
	Hashes     [][]byte `json:"hashes"`
	Checkpoint string   `json:"checkpoint"`
	// Rewrites, for an entry rewrapped since it was signed, are the
	// signed rewrite records (notes, oldest first) that lead from the
	// signed leaf to Line's hash (rewrite.go).
	Rewrites []string `json:"rewrites,omitempty"`
}

// ErrProof is wrapped by every error of VerifyProof that says the proof
// does not hold (as opposed to a checkpoint signed by an unknown key).
var ErrProof = errors.New("inclusion proof does not hold")

// Prove returns the inclusion proof of the entry with the id against the
// newest checkpoint of the ledger that signed it. An unknown id is an error
// wrapping store.ErrNotFound; an entry that no checkpoint signs yet is an
// error too.
func Prove(ctx context.Context, st store.SidecarStore, id string) (*Proof, error) {
	rec, err := st.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	h := HashLine(rec.Line)
	ts := rec.Time.UnixMicro()
	slugs, err := listSlugs(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("ledger: prove: %w", err)
	}
	for _, slug := range slugs {
		msg, err := st.ReadBlob(ctx, latestBlob(slug))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ledger: prove: %w", err)
		}
		text, _ := noteText(msg)
		c, err := ParseCheckpoint(text)
		if err != nil {
			return nil, fmt.Errorf("ledger: prove: %s: %w", latestBlob(slug), err)
		}
		leaves, err := readLeaves(ctx, st, slug, c.Size)
		if err != nil {
			return nil, fmt.Errorf("ledger: prove: %w", err)
		}
		chain, base, err := rewriteChain(ctx, st, c.Origin, h)
		if err != nil {
			return nil, fmt.Errorf("ledger: prove: %w", err)
		}
		h := base // the signed leaf of a rewritten line
		idx := -1
		for i := range leaves {
			if leaves[i].Hash == h {
				idx = i
				if leaves[i].Time == ts {
					break
				}
			}
		}
		if idx < 0 {
			continue
		}
		_, hs, err := proveBatch(leaves, c.Size, []uint64{uint64(idx)})
		if err != nil {
			return nil, fmt.Errorf("ledger: prove: %w", err)
		}
		hashes := hs[0]
		// The leaves may have been tampered with: prove only what holds.
		if err := proof.VerifyInclusion(hasher, uint64(idx), c.Size, h[:], hashes, c.Root); err != nil {
			return nil, fmt.Errorf("ledger: prove: %w: the leaves of %s do not produce its checkpoint's root", ErrTampered, c.Origin)
		}
		return &Proof{Format: ProofFormat, Line: string(rec.Line), LeafIndex: uint64(idx), TreeSize: c.Size, Hashes: hashes, Checkpoint: string(msg),
			Rewrites: chain}, nil
	}
	return nil, fmt.Errorf("ledger: prove: %s: %w", id, ErrNotCheckpointed)
}

// Marshal returns the proof's JSON form, indented.
func (p *Proof) Marshal() ([]byte, error) { return indentJSON(p) }

// ParseProof parses a proof's JSON form.
func ParseProof(b []byte) (*Proof, error) {
	p, err := decodeStrict[Proof](b, "comply inclusion proof")
	if err != nil {
		return nil, err
	}
	if p.Format != ProofFormat {
		return nil, fmt.Errorf("ledger: proof format %q, want %q", clip(p.Format), ProofFormat)
	}
	if p.LeafIndex >= p.TreeSize {
		return nil, fmt.Errorf("ledger: proof of leaf %d in a tree of %d", p.LeafIndex, p.TreeSize)
	}
	for _, h := range p.Hashes {
		if len(h) != 32 {
			return nil, fmt.Errorf("ledger: proof hash of %d bytes, want 32", len(h))
		}
	}
	if len(p.Hashes) > 64 {
		return nil, fmt.Errorf("ledger: proof of %d hashes, at most 64", len(p.Hashes))
	}
	return p, nil
}

// VerifyProof checks a proof offline: the checkpoint's signature against
// the verifiers, its tree size, and the audit path from the line's leaf
// hash to the checkpoint's root. It returns the checkpoint. A checkpoint
// signed by no known key is a *SignatureError; a proof that does not hold
// wraps ErrProof.
func VerifyProof(p *Proof, verifiers ...note.Verifier) (*Checkpoint, error) {
	known := note.VerifierList(verifiers...)
	c, _, err := OpenCheckpoint([]byte(p.Checkpoint), known)
	if err != nil {
		return c, err
	}
	if c.Size != p.TreeSize {
		return c, fmt.Errorf("%w: it names a tree of %d entries, its checkpoint signs %d", ErrProof, p.TreeSize, c.Size)
	}
	leaf, err := rewrittenLeaf(p, c, known, HashLine([]byte(p.Line)))
	if err != nil {
		return c, err
	}
	if err := proof.VerifyInclusion(hasher, p.LeafIndex, p.TreeSize, leaf[:], p.Hashes, c.Root); err != nil {
		return c, fmt.Errorf("%w: the line is not leaf %d of the signed tree of %d entries", ErrProof, p.LeafIndex, p.TreeSize)
	}
	return c, nil
}

// ProveAt returns the inclusion proofs of the records against one signed
// checkpoint (a note of the history, as SignedHistory returns it), reading
// the log's leaves once and hashing its tree once, however many records
// there are. The proof of a record the checkpoint does not sign is nil.
// The leaves must produce the checkpoint's root (else an error wrapping
// ErrTampered).
func ProveAt(ctx context.Context, sc store.Sidecar, cp SignedCheckpoint, recs []store.Record) ([]*Proof, error) {
	leaves, err := readLeaves(ctx, sc, Slug(cp.Origin), cp.Size)
	if err != nil {
		return nil, fmt.Errorf("ledger: prove at %d: %w", cp.Size, err)
	}
	at := leavesOf(leaves, recs)
	root, hashes, err := proveBatch(leaves, cp.Size, indexesOf(at))
	if err != nil {
		return nil, fmt.Errorf("ledger: prove: %w", err)
	}
	if !bytes.Equal(root, cp.Root) {
		return nil, fmt.Errorf("ledger: prove: %w: the leaves of %s do not produce its checkpoint's root", ErrTampered, cp.Origin)
	}
	return proofsAt(recs, at, cp.Size, cp.Note, hashes), nil
}

// indentJSON returns v's JSON form, indented, ending in a newline: the
// form of the proofs comply writes.
func indentJSON(v any) ([]byte, error) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeStrict decodes b as one JSON object of type T, refusing unknown
// fields and anything after it; what names the form in errors.
func decodeStrict[T any](b []byte, what string) (*T, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var v T
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("ledger: not a %s: %w", what, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("ledger: not a %s: data after the JSON object", what)
	}
	return &v, nil
}
