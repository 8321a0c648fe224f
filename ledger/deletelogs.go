package ledger

import (
	"context"
	"fmt"
)

// A storeLog is one ledger of a store as a deleting writer reads it: its
// origin, its signed size and leaves. Delete and Expire name the leaves of
// any of them in their deletion records, so that a cleanup by one writer
// (or by a 'comply cleanup' run, a new ledger of its own) is provable for
// every writer's entries. Verify accepts a record kept in one ledger that
// names another's origin, if a known key signed it, and checks it against
// that ledger's leaves.
type storeLog struct {
	origin string
	size   uint64
	leaves []Leaf
}

// allLogs returns this ledger's log, first, with its leaves, then the
// store's other ledgers, as far as their latest checkpoints sign. The
// caller holds cpMu.
func (l *Ledger) allLogs(ctx context.Context) ([]storeLog, error) {
	own, err := readLeaves(ctx, l.sc, l.slug, l.rng.End())
	if err != nil {
		return nil, fmt.Errorf("ledger: %w: %w", ErrTampered, err)
	}
	others, err := l.otherLogs(ctx)
	if err != nil {
		return nil, err
	}
	logs := append([]storeLog{{origin: l.origin, size: l.rng.End(), leaves: own}}, others...)
	return logs, nil
}

// assignDeletions moves the deletion records that a ledger keeps for
// another ledger's origin to that ledger, once checked against its leaves
// (checkDeletion); a record naming an origin the store has no ledger for,
// or that fails the check, is a problem of the ledger that keeps it.
func assignDeletions(logs []*vlog, r *Report) {
	byOrigin := map[string]*vlog{}
	for _, lg := range logs {
		byOrigin[lg.rep.Origin] = lg
	}
	for _, keeper := range logs {
		for i, d := range keeper.foreignDels {
			name := keeper.foreignNames[i]
			bad := func(format string, args ...any) {
				r.Problems = append(r.Problems, Problem{Kind: Malformed, Origin: keeper.rep.Origin, Offset: -1, Leaf: -1,
					Detail: fmt.Sprintf("deletion record %s: ", name) + fmt.Sprintf(format, args...)})
				keeper.rep.Valid = false
			}
			target := byOrigin[d.Origin]
			if target == nil {
				bad("names origin %q, which has no ledger in the store; the entries it names are not taken as deleted by policy", d.Origin)
				continue
			}
			if err := checkDeletion(d, target.leaves); err != nil {
				bad("%v; the entries it names are not taken as deleted by policy", err)
				continue
			}
			target.dels = append(target.dels, d)
			target.rep.Deletions = len(target.dels)
		}
		keeper.foreignDels, keeper.foreignNames = nil, nil
	}
}
