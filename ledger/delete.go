package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/complyhq/comply/store"
)

// Delete deletes the entry with the id from the store on request, keeping
// the deletion provable: it has the store delete the line, then signs a
// deletion record naming the entry's leaf, then writes a checkpoint.
// Verify reports the entry as deleted by policy instead of missing. The
// entry may be any writer's of a shared store: the record then names that
// writer's log (its origin and leaf index) and is kept with this ledger's
// records, signed with this writer's key.
//
// The record is written only once the store confirmed the deletion: a
// deletion the store refuses (an object lock) leaves no record that could
// later excuse the entry's absence. A crash between the two leaves the
// entry deleted without a record, which Verify reports as missing: loud,
// never silent. An unknown id is an error wrapping store.ErrNotFound.
func (l *Ledger) Delete(ctx context.Context, id string) error {
	rec, err := l.st.Get(ctx, id)
	if err != nil {
		return err
	}
	orig, err := rewriteMap(ctx, l.sc)
	if err != nil {
		return err
	}
	h := signedHash(orig, HashLine(rec.Line)) // a rewrapped line stands for its signed leaf
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	if err := l.checkpointLocked(ctx, evPlain); err != nil {
		return err
	}
	logs, err := l.allLogs(ctx)
	if err != nil {
		return err
	}
	ts := rec.Time.UnixMicro()
	lg, idx := -1, -1
	for k := range logs {
		leaves := logs[k].leaves
		for i := range leaves {
			if leaves[i].Hash == h && (idx < 0 || leaves[i].Time == ts) {
				lg, idx = k, i
				if leaves[i].Time == ts {
					break
				}
			}
		}
		if idx >= 0 && logs[lg].leaves[idx].Time == ts {
			break
		}
	}
	if err := l.st.Delete(ctx, id); err != nil {
		return err
	}
	if idx >= 0 {
		d := &Deletion{Reason: Request, Ranges: [][2]uint64{{uint64(idx), uint64(idx)}}}
		if safeID(id) {
			d.IDs = map[uint64]string{uint64(idx): id}
		}
		if err := l.writeDeletion(ctx, d, &logs[lg]); err != nil {
			return err
		}
	}
	return l.checkpointLocked(ctx, evDeletion)
}

// Expire removes the entries stamped before the cutoff from the store, as
// retention does, keeping the deletion provable: it notes the leaves of the
// lines about to go (found by scanning them), has the store expire them,
// scans again, and signs a deletion record of the leaves whose lines are
// gone, then writes a checkpoint. In a store shared by several writers
// the lines of every writer's log go, and each log with leaves gone gets
// a record naming it, signed with this writer's key. Lines the store
// keeps (an object lock) are named by no record. It returns what the
// store's Expire returns.
func (l *Ledger) Expire(ctx context.Context, before time.Time) (int64, error) {
	if now := l.opts.Now(); before.After(now) {
		return 0, fmt.Errorf("ledger: expire: cutoff %s is after the current time", before.UTC().Format(time.RFC3339Nano))
	}
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	if err := l.checkpointLocked(ctx, evPlain); err != nil {
		return 0, err
	}
	// Lines are stamped to the microsecond: one stamped before the cutoff
	// is stamped before its next whole microsecond.
	cut := before.UnixMicro()
	if before.Nanosecond()%1000 != 0 {
		cut++
	}
	logs, err := l.allLogs(ctx)
	if err != nil {
		return 0, err
	}
	var cand []Leaf
	var from []int // the log of each candidate
	var pos []uint64
	for k := range logs {
		for i, lf := range logs[k].leaves {
			if lf.Time < cut {
				cand = append(cand, lf)
				from = append(from, k)
				pos = append(pos, uint64(i))
			}
		}
	}
	// present[i]: the candidate's line was in the store before the expiry.
	var present []bool
	if len(cand) > 0 {
		if present, err = l.presentLines(ctx, before, cut, cand); err != nil {
			return 0, err
		}
	}
	n, xerr := l.st.Expire(ctx, before)
	if n == 0 && xerr == nil && !slices.Contains(present, true) {
		return 0, nil
	}
	// Record only what is gone now: what the store kept stays unexcused.
	var left []bool
	if len(cand) > 0 {
		var err error
		if left, err = l.presentLines(ctx, before, cut, cand); err != nil {
			return n, errors.Join(xerr, err)
		}
	}
	gone := make([][]uint64, len(logs))
	for i := range cand {
		if present[i] && !left[i] {
			gone[from[i]] = append(gone[from[i]], pos[i])
		}
	}
	for k, g := range gone {
		if len(g) == 0 {
			continue
		}
		slices.Sort(g)
		d := &Deletion{Reason: Retention, Cutoff: before, Ranges: toRanges(g)}
		if err := l.writeDeletion(ctx, d, &logs[k]); err != nil {
			return n, errors.Join(xerr, err)
		}
	}
	if xerr != nil {
		return n, errors.Join(xerr, l.checkpointLocked(ctx, evDeletion))
	}
	return n, l.checkpointLocked(ctx, evDeletion)
}

// presentLines scans the lines stamped before the cutoff and reports, for
// each candidate leaf, whether a line of its hash is there (each line
// matching one candidate).
func (l *Ledger) presentLines(ctx context.Context, before time.Time, cut int64, cand []Leaf) ([]bool, error) {
	orig, err := rewriteMap(ctx, l.sc)
	if err != nil {
		return nil, err
	}
	idx := newHashIndex(cand)
	used := make([]bool, len(cand))
	avail := func(i int) bool { return !used[i] }
	for rec, err := range l.st.Scan(ctx, store.Query{End: before}) {
		if err != nil {
			var ce *store.CorruptionError
			if errors.As(err, &ce) {
				continue // the store keeps unreadable lines
			}
			return nil, fmt.Errorf("ledger: expire: %w", err)
		}
		if rec.Time.UnixMicro() >= cut {
			continue
		}
		h := signedHash(orig, HashLine(rec.Line))
		if p, _ := idx.find(&h, avail); p >= 0 {
			used[p] = true
		}
	}
	return used, nil
}

// writeDeletion signs d, a record of leaves of lg, and writes it as this
// ledger's next deletion record. The caller holds cpMu, after a
// checkpoint covering every leaf d names.
func (l *Ledger) writeDeletion(ctx context.Context, d *Deletion, lg *storeLog) error {
	d.Origin = lg.origin
	d.Time = l.opts.Now().UTC()
	d.Size = lg.size
	msg, err := signDeletion(d, l.opts.Signer)
	if err != nil {
		return fmt.Errorf("ledger: signing a deletion record: %w", err)
	}
	if err := l.sc.WriteBlob(ctx, deletionBlob(l.slug, l.nextDel), msg); err != nil {
		return fmt.Errorf("ledger: writing a deletion record: %w", err)
	}
	l.nextDel++
	return nil
}

// safeID reports whether an id can go in a deletion record's text.
func safeID(id string) bool {
	return id != "" && len(id) <= 128 && !strings.ContainsFunc(id, func(r rune) bool {
		return unicode.IsSpace(r) || unicode.IsControl(r) || r == unicode.ReplacementChar
	})
}
