package ledger

import (
	"context"
	"fmt"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// vjournal is what the journals of the ledgers say, as Verify reads them
// with the public keys alone. An intent that a signed seal covers vouches
// for its line: a line the tree lacks but a sealed intent holds was
// acknowledged, and waits for the writer's next checkpoint (after a crash:
// its restart). An intent after the last seal vouches for nothing (anyone
// could have appended it) but for a live writer's line not yet sealed.
// Acknowledged intents, sealed or not, count the other way: an
// acknowledged intent whose line is gone was deleted (a forged one could
// only raise a false alarm).
type vjournal struct {
	leaves []Leaf
	acked  []bool
	sealed []bool
	origin []string
	idx    *hashIndex
	seen   []bool
	any    bool // the store journals, or some ledger keeps a journal: unvouched lines are not pending
}

// loadJournals reads the intents of every ledger's journal. A journal that
// fails its chain or a seal is a problem of its ledger.
func loadJournals(ctx context.Context, sc store.Sidecar, logs []*vlog, known note.Verifiers, r *Report) (*vjournal, error) {
	vj := &vjournal{}
	// A writer over a store that keeps append-only blobs always journals:
	// an unsigned line that no journal holds is not pending, even if its
	// journals are gone (removed after a clean close) and the writer looks
	// live (its "closed" checkpoint removed).
	_, vj.any = sc.(store.Appender)
	for _, lg := range logs {
		js, err := readJournals(ctx, sc, lg.rep.Origin, lg.slug, nil, known)
		if err != nil {
			return nil, err
		}
		if len(js.gens) > 0 {
			vj.any = true
		}
		for _, err := range js.errs {
			r.Problems = append(r.Problems, Problem{Kind: Malformed, Origin: lg.rep.Origin, Offset: -1, Leaf: -1,
				Detail: fmt.Sprintf("journal: %v", err)})
			lg.rep.Valid = false
		}
		for i := range js.intents {
			in := &js.intents[i]
			for _, lf := range in.leaves {
				vj.leaves = append(vj.leaves, lf)
				vj.acked = append(vj.acked, js.ackedIntent(in))
				vj.sealed = append(vj.sealed, in.sealed)
				vj.origin = append(vj.origin, lg.rep.Origin)
			}
		}
	}
	vj.idx = newHashIndex(vj.leaves)
	vj.seen = make([]bool, len(vj.leaves))
	return vj, nil
}

// match finds an intent holding a line of leaf hash h that no other line
// took yet, marks it taken, and reports whether one did and whether a seal
// covers it.
func (vj *vjournal) match(h *[32]byte) (found, sealed bool) {
	p, _ := vj.idx.find(h, func(i int) bool { return !vj.seen[i] })
	if p < 0 {
		return false, false
	}
	vj.seen[p] = true
	return true, vj.sealed[p]
}

// journalGone reports the acknowledged intents whose line is neither in
// the store nor signed by the tree: deleted after the writer acknowledged
// them.
func (v *verifier) journalGone() {
	vj := v.vj
	if len(vj.leaves) == 0 {
		return
	}
	signed := newHashIndex(v.leaves)
	per := map[string]int64{}
	var first = map[string]time.Time{}
	for i, lf := range vj.leaves {
		if vj.seen[i] || !vj.acked[i] || !v.o.inScope(lf.Time) {
			continue
		}
		if _, ok := signed.find(&vj.leaves[i].Hash, nil); ok {
			continue
		}
		o := vj.origin[i]
		per[o]++
		if t := time.UnixMicro(lf.Time).UTC(); first[o].IsZero() || t.Before(first[o]) {
			first[o] = t
		}
	}
	for o, n := range per {
		v.add(Problem{Kind: Missing, Origin: o, Offset: -1, Leaf: -1, Count: n, Time: first[o],
			Detail: fmt.Sprintf("%d acknowledged %s of the journal %s gone, and no deletion record explains it",
				n, plural(int(n), "entry", "entries"), plural(int(n), "is", "are"))})
	}
}
