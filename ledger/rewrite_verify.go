package ledger

import (
	"fmt"
	"slices"
	"time"
)

// A RewriteReport sums up one signed rewrite record that Verify read.
type RewriteReport struct {
	Origin string    `json:"origin"`
	Time   time.Time `json:"time"`
	Reason string    `json:"reason"`
	Count  int       `json:"count"` // entries it names
}

func (w *RewriteReport) String() string {
	return fmt.Sprintf("rewrapped: %d %s at %s (%s)", w.Count, plural(w.Count, "entry", "entries"),
		w.Time.Format(time.RFC3339), w.Reason)
}

// badRewrite reports a rewrite record that cannot be read or whose
// signature fails: the lines it names are not taken as rewritten.
func (v *verifier) badRewrite(name string, err error) {
	k := Malformed
	if se, ok := err.(*SignatureError); ok {
		k = se.Kind
	}
	v.r.Problems = append(v.r.Problems, Problem{Kind: k, Offset: -1, Leaf: -1,
		Detail: fmt.Sprintf("rewrite record %s: %v; the lines it names are not taken as rewritten", name, err)})
}

// indexRewrites checks the rewrite records against the leaves and maps
// each new leaf hash to the global leaf it stands for. A record's old hash
// must be its leaf's, or the new hash of another record of the same leaf
// (an entry rewrapped again); a record that names an unknown origin or a
// leaf whose hash it does not know is a problem, and its lines are not
// taken as rewritten.
func (v *verifier) indexRewrites() {
	v.alt = map[[32]byte]int{}
	type cand struct {
		w    int
		leaf int
		rl   RewrittenLeaf
	}
	var cs []cand
	for wi, w := range v.rewrites {
		var lg *vlog
		for _, x := range v.logs {
			if x.rep.Origin == w.Origin {
				lg = x
			}
		}
		if lg == nil {
			v.r.Problems = append(v.r.Problems, Problem{Kind: Malformed, Origin: w.Origin, Offset: -1, Leaf: -1,
				Detail: fmt.Sprintf("a rewrite record of %s names origin %q, which has no ledger in the store", w.Time.Format(time.RFC3339), w.Origin)})
			continue
		}
		for _, rl := range w.Leaves {
			if rl.Index < uint64(len(lg.leaves)) {
				cs = append(cs, cand{wi, lg.off + int(rl.Index), rl})
			}
		}
	}
	// Accept, pass after pass, each candidate whose old hash is its
	// leaf's or an accepted new hash of the same leaf.
	ok := make([]bool, len(cs))
	for changed := true; changed; {
		changed = false
		for i, c := range cs {
			if ok[i] {
				continue
			}
			if c.rl.Old == v.leaves[c.leaf].Hash || v.altIs(c.rl.Old, c.leaf) {
				ok[i], changed = true, true
				v.alt[c.rl.New] = c.leaf
			}
		}
	}
	reps := make([]RewriteReport, len(v.rewrites))
	for wi, w := range v.rewrites {
		reps[wi] = RewriteReport{Origin: w.Origin, Time: w.Time, Reason: w.Reason, Count: len(w.Leaves)}
	}
	for i, c := range cs {
		if !ok[i] {
			lg, li := v.local(c.leaf)
			v.r.Problems = append(v.r.Problems, Problem{Kind: Malformed, Origin: lg.rep.Origin, Offset: -1, Leaf: int64(li),
				Detail: fmt.Sprintf("a rewrite record of %s names leaf %d with an old hash the leaf never had; its new line is not taken as the entry",
					v.rewrites[c.w].Time.Format(time.RFC3339), li)})
		}
	}
	slices.SortStableFunc(reps, func(a, b RewriteReport) int { return a.Time.Compare(b.Time) })
	v.r.Rewrites = reps
}

func (v *verifier) altIs(h [32]byte, leaf int) bool {
	l, ok := v.alt[h]
	return ok && l == leaf
}

// rewritten returns the global leaf that a line of hash h replaces, as a
// signed rewrite record says, if that leaf has no line yet; else -1.
func (v *verifier) rewritten(h *[32]byte) int {
	leaf, ok := v.alt[*h]
	if !ok || v.seen[leaf] != 0 {
		return -1
	}
	v.r.Rewrapped++
	return leaf
}

// find returns the leaf a line of hash h matches: an available leaf of
// that hash, or the leaf a signed rewrite record says it replaces.
func (v *verifier) find(idx *hashIndex, h *[32]byte, avail func(int) bool) (int, bool) {
	p, dup := idx.find(h, avail)
	if p < 0 {
		p = v.rewritten(h)
	}
	return p, dup
}
