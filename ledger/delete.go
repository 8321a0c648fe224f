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
// the deletion provable: it signs a deletion record naming the entry's
// leaf, then has the store delete the line, then writes a checkpoint.
// Verify reports the entry as deleted by policy instead of missing. The
// record is written first, so that a crash in between leaves a record of
// an entry that is still there (harmless) rather than a removal without
// one. An unknown id is an error wrapping store.ErrNotFound.
func (l *Ledger) Delete(ctx context.Context, id string) error {
	rec, err := l.st.Get(ctx, id)
	if err != nil {
		return err
	}
	h := HashLine(rec.Line)
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	if err := l.checkpointLocked(ctx, evPlain); err != nil {
		return err
	}
	leaves, err := readLeaves(ctx, l.sc, l.slug, l.rng.End())
	if err != nil {
		return fmt.Errorf("ledger: %w: %w", ErrTampered, err)
	}
	ts := rec.Time.UnixMicro()
	idx := -1
	for i := range leaves {
		if leaves[i].Hash == h && (idx < 0 || leaves[i].Time == ts) {
			idx = i
			if leaves[i].Time == ts {
				break
			}
		}
	}
	if idx >= 0 {
		d := &Deletion{Reason: Request, Ranges: [][2]uint64{{uint64(idx), uint64(idx)}}}
		if safeID(id) {
			d.IDs = map[uint64]string{uint64(idx): id}
		}
		if err := l.writeDeletion(ctx, d); err != nil {
			return err
		}
	}
	if err := l.st.Delete(ctx, id); err != nil {
		return err
	}
	return l.checkpointLocked(ctx, evDeletion)
}

// Expire removes the entries stamped before the cutoff from the store, as
// retention does, keeping the deletion provable: it signs a deletion
// record of the leaves of the lines it is about to remove (found by
// scanning them), then has the store expire them, then writes a
// checkpoint. It returns what the store's Expire returns.
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
	leaves, err := readLeaves(ctx, l.sc, l.slug, l.rng.End())
	if err != nil {
		return 0, fmt.Errorf("ledger: %w: %w", ErrTampered, err)
	}
	var cand []Leaf
	var pos []uint64
	for i := range leaves {
		if leaves[i].Time < cut {
			cand = append(cand, leaves[i])
			pos = append(pos, uint64(i))
		}
	}
	var gone []uint64
	if len(cand) > 0 {
		idx := newHashIndex(cand)
		used := make([]bool, len(cand))
		avail := func(i int) bool { return !used[i] }
		for rec, err := range l.st.Scan(ctx, store.Query{End: before}) {
			if err != nil {
				var ce *store.CorruptionError
				if errors.As(err, &ce) {
					continue // the store keeps unreadable lines
				}
				return 0, fmt.Errorf("ledger: expire: %w", err)
			}
			if rec.Time.UnixMicro() >= cut {
				continue
			}
			h := HashLine(rec.Line)
			if p, _ := idx.find(&h, avail); p >= 0 {
				used[p] = true
				gone = append(gone, pos[p])
			}
		}
	}
	if len(gone) > 0 {
		slices.Sort(gone)
		d := &Deletion{Reason: Retention, Cutoff: before, Ranges: toRanges(gone)}
		if err := l.writeDeletion(ctx, d); err != nil {
			return 0, err
		}
	}
	n, err := l.st.Expire(ctx, before)
	if err != nil {
		return n, err
	}
	if len(gone) == 0 && n == 0 {
		return 0, nil
	}
	return n, l.checkpointLocked(ctx, evDeletion)
}

// writeDeletion signs d and writes it as the next deletion record. The
// caller holds cpMu, after a checkpoint covering every leaf d names.
func (l *Ledger) writeDeletion(ctx context.Context, d *Deletion) error {
	d.Origin = l.origin
	d.Time = l.opts.Now().UTC()
	d.Size = l.rng.End()
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
