package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// backfillSkew is how much older than the moment it was written an entry
// may be stamped and still count as written when stamped. Older entries
// are backfilled (Interaction.Time, 'comply log --jsonl' with a
// timestamp): the ledger signs a record naming them.
const backfillSkew = time.Minute

// A Backfill is the signed record of the entries that a checkpoint signs
// and that were written well after their timestamp: backfilled, rather
// than logged as they happened. Its note text is line-oriented:
//
//	comply-backfill/v1
//	<origin>
//	time <RFC 3339 UTC: when the record was written>
//	size <tree size of the checkpoint that signs them>
//	leaves <first>-<last>          a run of backfilled leaf indexes, inclusive
type Backfill struct {
	Origin string
	Time   time.Time
	Size   uint64
	Ranges [][2]uint64
}

const (
	backfillMagic = "comply-backfill/v1"
	backfillsDir  = "backfills/"
)

func backfillBlob(slug string, n int) string {
	return fmt.Sprintf("%s%s%0*d", prefixOf(slug), backfillsDir, delNameDigits, n)
}

// Text returns the record's note text.
func (b *Backfill) Text() string {
	var s strings.Builder
	fmt.Fprintf(&s, "%s\n%s\ntime %s\nsize %d\n", backfillMagic, b.Origin, b.Time.UTC().Format(time.RFC3339Nano), b.Size)
	for _, r := range b.Ranges {
		fmt.Fprintf(&s, "leaves %d-%d\n", r[0], r[1])
	}
	return s.String()
}

// ParseBackfill parses a backfill record's note text.
func ParseBackfill(text string) (*Backfill, error) {
	bad := errors.New("malformed backfill record")
	if !strings.HasSuffix(text, "\n") || !utf8.ValidString(text) {
		return nil, bad
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 5 || lines[0] != backfillMagic || lines[1] == "" {
		return nil, bad
	}
	b := &Backfill{Origin: lines[1]}
	t, ok := strings.CutPrefix(lines[2], "time ")
	var err error
	if b.Time, err = time.Parse(time.RFC3339Nano, t); !ok || err != nil {
		return nil, fmt.Errorf("%w: time", bad)
	}
	sz, ok := strings.CutPrefix(lines[3], "size ")
	if b.Size, err = strconv.ParseUint(sz, 10, 64); !ok || err != nil {
		return nil, fmt.Errorf("%w: size", bad)
	}
	var last uint64
	for i, l := range lines[4:] {
		v, ok := strings.CutPrefix(l, "leaves ")
		x, y, ok2 := strings.Cut(v, "-")
		lo, err1 := strconv.ParseUint(x, 10, 64)
		hi, err2 := strconv.ParseUint(y, 10, 64)
		if !ok || !ok2 || err1 != nil || err2 != nil || hi < lo || hi >= b.Size || i > 0 && lo <= last {
			return nil, fmt.Errorf("%w: line %q", bad, clip(l))
		}
		b.Ranges = append(b.Ranges, [2]uint64{lo, hi})
		last = hi
	}
	b.Time = b.Time.UTC()
	return b, nil
}

// writeBackfill signs and writes the record of the backfilled leaves
// idx (ascending) that the checkpoint of tree size size is about to sign.
// The caller holds cpMu.
func (l *Ledger) writeBackfill(ctx context.Context, idx []uint64, size uint64) error {
	b := &Backfill{Origin: l.origin, Time: l.opts.Now().UTC(), Size: size, Ranges: toRanges(idx)}
	msg, err := note.Sign(&note.Note{Text: b.Text()}, l.opts.Signer)
	if err != nil {
		return fmt.Errorf("signing the backfill record: %w", err)
	}
	if err := l.sc.WriteBlob(ctx, backfillBlob(l.slug, l.nextBackfill), msg); err != nil {
		return err
	}
	l.nextBackfill++
	return nil
}

// loadBackfills reads a ledger's backfill records into lg; one that no
// known key signed marks nothing.
func loadBackfills(ctx context.Context, sc store.Sidecar, lg *vlog, known note.Verifiers, problem func(Kind, string, ...any)) error {
	return readSigned(ctx, sc, prefixOf(lg.slug)+backfillsDir, known, problem, "backfill record", func(name, text string) {
		b, err := ParseBackfill(text)
		if err != nil {
			problem(Malformed, "backfill record %s: %v", name, err)
			return
		}
		if b.Origin != lg.rep.Origin {
			problem(Malformed, "backfill record %s names another origin, %q", name, b.Origin)
			return
		}
		if lg.backfilled == nil {
			lg.backfilled = map[uint64]bool{}
		}
		for _, r := range b.Ranges {
			for i := r[0]; i <= r[1]; i++ {
				lg.backfilled[i] = true
			}
		}
	})
}
