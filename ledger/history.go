package ledger

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// History returns the checkpoints of the log origin whose times fall in
// [start, end], inclusive (a zero bound is unbounded), oldest first: the
// heartbeats and the checkpoints after appends, as the writer kept them.
// It reads only the history blobs of the UTC days the range covers (and
// the day either side, for a clock near midnight). A checkpoint that does
// not open with the known verifiers, or names another origin, is left
// out: Verify reports those.
func History(ctx context.Context, sc store.Sidecar, origin string, known note.Verifiers, start, end time.Time) ([]*Checkpoint, error) {
	scs, err := SignedHistory(ctx, sc, origin, known, start, end)
	if scs == nil {
		return nil, err
	}
	out := make([]*Checkpoint, len(scs))
	for i := range scs {
		out[i] = scs[i].Checkpoint
	}
	return out, err
}

// A SignedCheckpoint is a checkpoint with the signed note it was read
// from, byte for byte.
type SignedCheckpoint struct {
	*Checkpoint
	Note []byte
}

// SignedHistory is History with each checkpoint's signed note, for a
// reader that hands the checkpoints on (an evidence pack).
func SignedHistory(ctx context.Context, sc store.Sidecar, origin string, known note.Verifiers, start, end time.Time) ([]SignedCheckpoint, error) {
	dir := prefixOf(Slug(origin)) + historyDir
	names, err := sc.ListBlobs(ctx, dir)
	if err != nil {
		return nil, fmt.Errorf("ledger: history of %s: %w", origin, err)
	}
	from, to := "", "99999999"
	if !start.IsZero() {
		from = start.UTC().AddDate(0, 0, -1).Format("20060102")
	}
	if !end.IsZero() {
		to = end.UTC().AddDate(0, 0, 1).Format("20060102")
	}
	var out []SignedCheckpoint
	for _, name := range names {
		if day := strings.TrimPrefix(name, dir); day < from || day > to {
			continue
		}
		b, err := sc.ReadBlob(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("ledger: history %s: %w", name, err)
		}
		notes, _ := splitNotes(b) // a torn tail: the notes before it
		for _, n := range notes {
			c, _, err := OpenCheckpoint(n, known)
			if err != nil || c.Origin != origin || !start.IsZero() && c.Time.Before(start) || !end.IsZero() && c.Time.After(end) {
				continue
			}
			out = append(out, SignedCheckpoint{c, n})
		}
	}
	slices.SortStableFunc(out, func(a, b SignedCheckpoint) int { return a.Time.Compare(b.Time) })
	return slices.CompactFunc(out, func(a, b SignedCheckpoint) bool { return a.Time.Equal(b.Time) && a.Size == b.Size }), nil
}
