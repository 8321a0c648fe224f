package ledger

import (
	"context"
	"errors"
	"fmt"

	"github.com/complyhq/comply/store"
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
	logs := []storeLog{{origin: l.origin, size: l.rng.End(), leaves: own}}
	slugs, err := listSlugs(ctx, l.sc)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	for _, slug := range slugs {
		if slug == l.slug {
			continue
		}
		b, err := l.sc.ReadBlob(ctx, latestBlob(slug))
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		text, _ := noteText(b)
		c, err := ParseCheckpoint(text)
		if err != nil {
			return nil, fmt.Errorf("ledger: the store's ledger %s: %w: %w", slug, ErrTampered, err)
		}
		ls, err := readLeaves(ctx, l.sc, slug, c.Size)
		if err != nil {
			return nil, fmt.Errorf("ledger: the store's ledger %s: %w: %w", slug, ErrTampered, err)
		}
		logs = append(logs, storeLog{origin: c.Origin, size: c.Size, leaves: ls})
	}
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
