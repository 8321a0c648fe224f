package ledger

import (
	"context"
	"fmt"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// maxRewriteChain bounds the rewrite records a proof may carry.
const maxRewriteChain = 64

// rewriteChain returns, for a line of hash h in the log of origin, the
// signed rewrite records (their notes, oldest first) that lead from a
// signed leaf hash to h, and that leaf hash; or nil if no record names h.
// The records are not checked here: VerifyProof checks them.
func rewriteChain(ctx context.Context, sc store.Sidecar, origin string, h [32]byte) ([]string, [32]byte, error) {
	type rec struct {
		msg string
		rl  RewrittenLeaf
	}
	byNew := map[[32]byte]rec{}
	slugs, err := listSlugs(ctx, sc)
	if err != nil {
		return nil, h, err
	}
	for _, slug := range slugs {
		names, err := sc.ListBlobs(ctx, prefixOf(slug)+rewritesDir)
		if err != nil {
			return nil, h, err
		}
		for _, name := range names {
			b, err := sc.ReadBlob(ctx, name)
			if err != nil {
				return nil, h, err
			}
			text, ok := noteText(b)
			if !ok {
				continue
			}
			w, err := ParseRewrite(text)
			if err != nil || w.Origin != origin {
				continue
			}
			for _, rl := range w.Leaves {
				byNew[rl.New] = rec{string(b), rl}
			}
		}
	}
	var chain []string
	cur := h
	for len(chain) < maxRewriteChain {
		r, ok := byNew[cur]
		if !ok || r.rl.Old == cur {
			break
		}
		chain = append([]string{r.msg}, chain...)
		cur = r.rl.Old
	}
	return chain, cur, nil
}

// rewrittenLeaf checks a proof's rewrite records: each signed by a known
// key, of the checkpoint's origin, naming the proof's leaf, in a chain
// from the leaf's signed hash to the line's hash h. It returns the signed
// leaf hash.
func rewrittenLeaf(p *Proof, c *Checkpoint, known note.Verifiers, h [32]byte) ([32]byte, error) {
	if len(p.Rewrites) > maxRewriteChain {
		return h, fmt.Errorf("%w: %d rewrite records, at most %d", ErrProof, len(p.Rewrites), maxRewriteChain)
	}
	cur := h
	for i := len(p.Rewrites) - 1; i >= 0; i-- {
		text, _, err := openNote([]byte(p.Rewrites[i]), known)
		if err != nil {
			return h, fmt.Errorf("%w: rewrite record %d: %w", ErrProof, i+1, err)
		}
		w, err := ParseRewrite(text)
		if err != nil {
			return h, fmt.Errorf("%w: rewrite record %d: %w", ErrProof, i+1, err)
		}
		if w.Origin != c.Origin {
			return h, fmt.Errorf("%w: rewrite record %d names origin %q, not the checkpoint's", ErrProof, i+1, w.Origin)
		}
		found := false
		for _, rl := range w.Leaves {
			if rl.Index == p.LeafIndex && rl.New == cur {
				cur, found = rl.Old, true
				break
			}
		}
		if !found {
			return h, fmt.Errorf("%w: rewrite record %d does not rewrite leaf %d into the line's hash", ErrProof, i+1, p.LeafIndex)
		}
	}
	return cur, nil
}
