package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/complyhq/comply/store"
)

// ErrForeign is wrapped by a *RecoveryError: the store holds lines that the
// ledger did not write.
var ErrForeign = errors.New("the store holds lines this ledger did not write")

// A Place is where a line was found: a file or object name and a byte
// offset.
type Place struct {
	File   string
	Offset int64
	ID     string // the entry's id, where the line could be read
}

func (p Place) String() string {
	s := fmt.Sprintf("%s at byte %d", p.File, p.Offset)
	if p.ID != "" {
		s += " (id " + p.ID + ")"
	}
	return s
}

// A RecoveryError is why a writer refused to open a ledger: lines that
// neither its signed tree nor its journal vouch for (written by someone
// else: forged, inserted, or by a writer without the ledger), entries that
// its journal says were acknowledged but that are gone, or a journal that
// fails its MACs. Nothing is signed until an operator adopts the store's
// state explicitly (Options.AdoptAll: 'seal'), which signs an adoption
// record saying what was adopted, when, by which key and why.
type RecoveryError struct {
	Origin   string
	Foreign  []Place // the first lines without a leaf or an intent (at most maxPlaces)
	NumFor   int     // how many such lines in all
	Missing  int     // acknowledged entries of the journal that are gone
	Journal  []error // journal records that fail their MAC
	NoLedger bool    // the store has entries but no ledger at all
}

const maxPlaces = 10

func (e *RecoveryError) Error() string {
	var parts []string
	if e.NoLedger {
		parts = append(parts, fmt.Sprintf("the store has %d %s but no ledger", e.NumFor, plural(e.NumFor, "entry", "entries")))
	} else if e.NumFor > 0 {
		places := make([]string, len(e.Foreign))
		for i, p := range e.Foreign {
			places[i] = p.String()
		}
		more := ""
		if e.NumFor > len(e.Foreign) {
			more = ", ..."
		}
		parts = append(parts, fmt.Sprintf("%d %s that the ledger did not write: %s%s",
			e.NumFor, plural(e.NumFor, "line", "lines"), strings.Join(places, "; "), more))
	}
	if e.Missing > 0 {
		parts = append(parts, fmt.Sprintf("%d acknowledged %s of the journal %s gone", e.Missing,
			plural(e.Missing, "entry", "entries"), plural(e.Missing, "is", "are")))
	}
	for _, err := range e.Journal {
		parts = append(parts, "journal: "+err.Error())
	}
	return fmt.Sprintf("ledger %s: %s", e.Origin, strings.Join(parts, "; "))
}

func (e *RecoveryError) Unwrap() error { return ErrForeign }

// recovery is what recover found.
type recovery struct {
	foreign  []int   // positions in l.pend of lines no one vouches for
	places   []Place // the first of them
	missing  int
	journal  []error
	noLedger bool
}

// recover queues the leaves of the lines the tree lacks. A line the tree
// lacks is recovered only if the journal holds its intent (written before
// the line, and made durable before it was acknowledged); any other line
// is foreign, and so is an acknowledged intent whose line is gone: then
// the writer refuses (a *RecoveryError), unless AdoptAll asks it to adopt
// what it found, which it then records in a signed adoption record.
// signed holds the tree's leaves.
func (l *Ledger) recover(ctx context.Context, signed []Leaf) error {
	// The lines of the store's other ledgers (other writers of a shared
	// store) are theirs, not to adopt; and a new ledger of its own beside
	// them adopts nothing.
	others, err := l.otherLeaves(ctx)
	if err != nil {
		return err
	}
	if len(others) > 0 && len(signed) == 0 && !l.opts.AdoptAll {
		return nil
	}
	js := &journalSet{failed: map[uint64]bool{}}
	if l.jkey != nil {
		if js, err = readJournals(ctx, l.sc, l.origin, l.slug, l.jkey, nil); err != nil {
			return fmt.Errorf("ledger: reading the journal: %w", err)
		}
		l.jgens = js.gens
	}
	jleaves, jacked := js.leaves()
	start, known := l.recoveryWindow(signed, others, jleaves)
	rv, err := l.scanForRecovery(ctx, start, known, jleaves, jacked)
	if err != nil {
		return err
	}
	rv.journal = js.errs
	rv.noLedger = l.last == nil && len(signed) == 0
	if len(rv.foreign) == 0 && rv.missing == 0 && len(rv.journal) == 0 {
		if n := len(l.pend); n > 0 {
			l.opts.ErrorLog.Info("ledger: recovered the lines its journal vouches for", "origin", l.origin, "lines", n)
		}
		l.recovered = len(l.pend)
		return nil
	}
	if !l.opts.AdoptAll {
		l.pend = l.pend[:0]
		return &RecoveryError{Origin: l.origin, Foreign: rv.places, NumFor: len(rv.foreign), Missing: rv.missing,
			Journal: rv.journal, NoLedger: rv.noLedger}
	}
	l.recovered = len(l.pend) - len(rv.foreign)
	l.adopted = len(rv.foreign)
	base := uint64(len(signed))
	idx := make([]uint64, len(rv.foreign))
	for i, p := range rv.foreign {
		idx[i] = base + uint64(p)
	}
	l.adoption = &Adoption{Origin: l.origin, Reason: l.opts.AdoptReason, Ranges: toRanges(idx), Missing: rv.missing,
		JournalErrors: len(rv.journal), NoLedger: rv.noLedger}
	return nil
}

// recoveryWindow returns where the scan starts (the zero time: the whole
// store) and the leaves a line there may already have.
func (l *Ledger) recoveryWindow(signed, others, jleaves []Leaf) (time.Time, []Leaf) {
	known := append(slices.Clip(signed), others...)
	n := len(signed)
	if n == 0 || l.opts.AdoptAll {
		return time.Time{}, known
	}
	cut := signed[n-1].Time
	for _, lf := range jleaves {
		cut = min(cut, lf.Time)
	}
	start := time.UnixMicro(cut).Add(-recoverySlack).UTC()
	from := start.UnixMicro()
	known = nil
	for _, ls := range [][]Leaf{signed, others} {
		for i := range ls {
			if ls[i].Time >= from {
				known = append(known, ls[i])
			}
		}
	}
	return start, known
}

// scanForRecovery reads the store from start and queues, in storage
// order, the leaf of every line of this writer that known lacks, noting
// which of them the journal does not vouch for.
func (l *Ledger) scanForRecovery(ctx context.Context, start time.Time, known, jleaves []Leaf, jacked []bool) (*recovery, error) {
	rv := &recovery{}
	// A store shared by several writers says who wrote each line: recover
	// only our own (and lines no writer of the store claims, such as the
	// Python library's), never another writer's not yet checkpointed.
	mine := func(store.Record) bool { return true }
	if rw, ok := l.st.(store.Shared); ok && !l.opts.AdoptAll {
		self := rw.WriterID()
		mine = func(r store.Record) bool { w, ok := rw.RecordWriter(r); return !ok || w == self }
	}
	orig, err := rewriteMap(ctx, l.sc) // rewrapped lines stand for their signed leaves
	if err != nil {
		return nil, err
	}
	idx, jidx := newHashIndex(known), newHashIndex(jleaves)
	used, jused := make([]bool, len(known)), make([]bool, len(jleaves))
	var read int64
	for rec, err := range l.st.Scan(ctx, store.Query{Start: start}) {
		if err != nil {
			var ce *store.CorruptionError
			if errors.As(err, &ce) {
				// An unreadable line: never signed, never adopted; Verify
				// reports it.
				l.opts.ErrorLog.Warn("ledger: an unreadable line cannot be signed", "file", ce.Path, "offset", ce.Offset)
				continue
			}
			return nil, fmt.Errorf("ledger: scanning the store: %w", err)
		}
		read++
		if l.opts.Progress != nil && read%4096 == 0 {
			l.opts.Progress(read)
		}
		if !mine(rec) {
			continue
		}
		h := HashLine(rec.Line)
		if sh := signedHash(orig, h); sh != h {
			if p, _ := idx.find(&sh, func(i int) bool { return !used[i] }); p >= 0 {
				used[p] = true
				continue
			}
		}
		if p, _ := idx.find(&h, func(i int) bool { return !used[i] }); p >= 0 {
			used[p] = true
			continue
		}
		if p, _ := jidx.find(&h, func(i int) bool { return !jused[i] }); p < 0 {
			rv.foreign = append(rv.foreign, len(l.pend))
			if len(rv.places) < maxPlaces {
				rv.places = append(rv.places, Place{File: rec.Path, Offset: rec.Offset, ID: rec.ID})
			}
		} else {
			jused[p] = true
		}
		l.pend = append(l.pend, Leaf{Hash: h, Time: rec.Time.UnixMicro()})
	}
	if l.opts.Progress != nil {
		l.opts.Progress(read)
	}
	// An acknowledged intent whose line is neither in the store nor
	// signed already was deleted (or lost by a machine crash in a weaker
	// durability mode).
	for i := range jleaves {
		if jused[i] || !jacked[i] {
			continue
		}
		if _, signed := idx.find(&jleaves[i].Hash, nil); !signed {
			rv.missing++
		}
	}
	return rv, nil
}
