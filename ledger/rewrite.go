package ledger

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// A Rewrite is the signed record of entries whose lines were replaced in
// place, keeping the entry (its id, time and hashes) and changing how its
// content is stored: a rewrap under a new encryption key. Its note text is
// line-oriented:
//
//	comply-rewrite/v1
//	<origin>
//	reason <one line of text>
//	time <RFC 3339 UTC>
//	size <tree size when written>
//	leaf <index> <old leaf hash, hex> <new leaf hash, hex>
//
// with one "leaf" line per rewritten entry, in ascending index order. The
// old hash is the signed leaf's, or the new hash of an earlier record for
// the same index (an entry rewrapped twice). Verify accepts, at an index a
// record names, a line of the leaf's hash or of any new hash the records
// chain to it; any other change is still a modified line.
type Rewrite struct {
	Origin string
	Reason string
	Time   time.Time
	Size   uint64
	Leaves []RewrittenLeaf
}

// A RewrittenLeaf is one entry of a Rewrite: its leaf index and the leaf
// hashes of its line before and after.
type RewrittenLeaf struct {
	Index    uint64
	Old, New [32]byte
}

const (
	rewriteMagic = "comply-rewrite/v1"
	rewritesDir  = "rewrites/"
)

var errRewrite = errors.New("malformed rewrite record")

func rewriteBlob(slug string, n int) string {
	return fmt.Sprintf("%s%s%0*d", prefixOf(slug), rewritesDir, delNameDigits, n)
}

// Text returns the record's note text.
func (w *Rewrite) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\nreason %s\ntime %s\nsize %d\n", rewriteMagic, w.Origin, w.Reason,
		w.Time.UTC().Format(time.RFC3339Nano), w.Size)
	for _, l := range w.Leaves {
		fmt.Fprintf(&b, "leaf %d %x %x\n", l.Index, l.Old, l.New)
	}
	return b.String()
}

// safeReason reports whether s can be a rewrite or erasure record's reason:
// one line of printable text.
func safeReason(s string) bool {
	return s != "" && len(s) <= 1024 && utf8.ValidString(s) && !strings.ContainsFunc(s, func(r rune) bool {
		return r == '\n' || r == '\r' || unicode.IsControl(r)
	})
}

// ParseRewrite parses a rewrite record's note text.
func ParseRewrite(text string) (*Rewrite, error) {
	if !strings.HasSuffix(text, "\n") || !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: not newline-terminated UTF-8 text", errRewrite)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 6 || lines[0] != rewriteMagic || lines[1] == "" {
		return nil, fmt.Errorf("%w: want %s, origin, reason, time, size and leaf lines", errRewrite, rewriteMagic)
	}
	w := &Rewrite{Origin: lines[1]}
	var ok bool
	var err error
	if w.Reason, ok = strings.CutPrefix(lines[2], "reason "); !ok || !safeReason(w.Reason) {
		return nil, fmt.Errorf("%w: bad reason line", errRewrite)
	}
	t, ok := strings.CutPrefix(lines[3], "time ")
	if w.Time, err = time.Parse(time.RFC3339Nano, t); !ok || err != nil {
		return nil, fmt.Errorf("%w: bad time line", errRewrite)
	}
	sz, ok := strings.CutPrefix(lines[4], "size ")
	if w.Size, err = strconv.ParseUint(sz, 10, 64); !ok || err != nil {
		return nil, fmt.Errorf("%w: bad size line", errRewrite)
	}
	for i, l := range lines[5:] {
		f := strings.Fields(l)
		if len(f) != 4 || f[0] != "leaf" || strings.Join(f, " ") != l {
			return nil, fmt.Errorf("%w: line %q", errRewrite, clip(l))
		}
		var rl RewrittenLeaf
		rl.Index, err = strconv.ParseUint(f[1], 10, 64)
		if err != nil || rl.Index >= w.Size || i > 0 && rl.Index <= w.Leaves[i-1].Index {
			return nil, fmt.Errorf("%w: leaf index %q out of order or beyond the tree size", errRewrite, clip(f[1]))
		}
		if !parseHash(f[2], &rl.Old) || !parseHash(f[3], &rl.New) {
			return nil, fmt.Errorf("%w: line %q: bad hash", errRewrite, clip(l))
		}
		w.Leaves = append(w.Leaves, rl)
	}
	w.Time = w.Time.UTC()
	return w, nil
}

// parseHash decodes 64 lowercase hex digits into h.
func parseHash(s string, h *[32]byte) bool {
	if len(s) != 64 || strings.ToLower(s) != s {
		return false
	}
	_, err := hex.Decode(h[:], []byte(s))
	return err == nil
}

// readRewrites reads the rewrite records that every ledger of the store
// keeps, keeping those that one of known signed (all readable ones if
// known is nil) and calling bad for the others.
func readRewrites(ctx context.Context, sc store.Sidecar, known note.Verifiers, bad func(name string, err error)) ([]*Rewrite, error) {
	slugs, err := listSlugs(ctx, sc)
	if err != nil {
		return nil, err
	}
	var out []*Rewrite
	for _, slug := range slugs {
		names, err := sc.ListBlobs(ctx, prefixOf(slug)+rewritesDir)
		if err != nil {
			return nil, err
		}
		for _, name := range names {
			b, err := sc.ReadBlob(ctx, name)
			if err != nil {
				return nil, err
			}
			var text string
			if known != nil {
				text, _, err = openNote(b, known)
			} else if t, ok := noteText(b); ok {
				text = t
			} else {
				err = errRewrite
			}
			var w *Rewrite
			if err == nil {
				w, err = ParseRewrite(text)
			}
			if err != nil {
				bad(name, err)
				continue
			}
			out = append(out, w)
		}
	}
	return out, nil
}

// rewriteMap returns, for every new leaf hash of the store's rewrite
// records, the leaf hash of the line it replaced first (following a chain
// of rewrites back to the signed leaf). The writer uses it to find the
// leaf of a rewritten line (Delete, Expire, recovery); Verify checks the
// records' signatures itself.
func rewriteMap(ctx context.Context, sc store.Sidecar) (map[[32]byte][32]byte, error) {
	ws, err := readRewrites(ctx, sc, nil, func(string, error) {})
	if err != nil {
		return nil, fmt.Errorf("ledger: reading rewrite records: %w", err)
	}
	m := map[[32]byte][32]byte{}
	for _, w := range ws {
		for _, l := range w.Leaves {
			m[l.New] = l.Old
		}
	}
	// Resolve chains (a rewrap of a rewrap) to the first hash.
	for k, v := range m {
		for n := 0; n < len(m); n++ {
			o, ok := m[v]
			if !ok {
				break
			}
			v = o
		}
		m[k] = v
	}
	return m, nil
}

// signedHash returns the leaf hash a line of hash h stands for: h, or the
// original leaf hash of a rewritten line.
func signedHash(m map[[32]byte][32]byte, h [32]byte) [32]byte {
	if o, ok := m[h]; ok {
		return o
	}
	return h
}

// An UnsignedLineError is returned by Rewrite for a line of the segment
// that no ledger of the store signs yet: rewriting it would leave nothing
// to prove what it was.
type UnsignedLineError struct {
	Segment string
	ID      string
}

func (e *UnsignedLineError) Error() string {
	return fmt.Sprintf("ledger: rewrite %s: the line of entry %s is signed by no ledger of the store", e.Segment, e.ID)
}

// Rewrite replaces lines of one segment of the store (a store.Rewriter
// and store.Segmented) as fn says, keeping them provable: it checkpoints,
// computes every new line, signs a rewrite record naming the old and new
// leaf hash of each changed entry, and only then has the store replace
// the segment atomically. A crash before the record is written changes
// nothing; after it, the store holds the old lines or the new, and Verify
// accepts both. fn must keep each record's id and time; it is called once
// per line, outside the store's lock. A line no ledger signs fails the
// rewrite (*UnsignedLineError) before anything is written. It returns how
// many lines the store replaced.
func (l *Ledger) Rewrite(ctx context.Context, segment, reason string, fn func(store.Record) ([]byte, bool, error)) (int64, error) {
	rw, ok1 := l.st.(store.Rewriter)
	sg, ok2 := l.st.(store.Segmented)
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("ledger: rewrite: %w: the store cannot rewrite its segments", errors.ErrUnsupported)
	}
	if !safeReason(reason) {
		return 0, errors.New("ledger: rewrite: the reason must be one line of text")
	}
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	if err := l.checkpointLocked(ctx, evPlain); err != nil {
		return 0, err
	}
	logs, err := l.allLogs(ctx)
	if err != nil {
		return 0, err
	}
	orig, err := rewriteMap(ctx, l.sc)
	if err != nil {
		return 0, err
	}
	plan, recs, err := planRewrite(ctx, sg, segment, logs, orig, fn)
	if err != nil || len(plan) == 0 {
		return 0, err
	}
	for k, w := range recs {
		if w == nil {
			continue
		}
		w.Origin, w.Reason, w.Size, w.Time = logs[k].origin, reason, logs[k].size, l.opts.Now().UTC()
		if err := l.writeRewrite(ctx, w); err != nil {
			return 0, err
		}
	}
	return rw.Rewrite(ctx, segment, func(r store.Record) ([]byte, bool, error) {
		nl, ok := plan[planKey{r.ID, HashLine(r.Line)}]
		return nl, ok, nil
	})
}

type planKey struct {
	id   string
	hash [32]byte
}

// planRewrite computes the new lines of a segment and, per log, the
// rewrite record that names them. It holds the segment's changed lines and
// the leaves of their hashes, not every leaf of the store.
func planRewrite(ctx context.Context, sg store.Segmented, segment string, logs []storeLog, orig map[[32]byte][32]byte,
	fn func(store.Record) ([]byte, bool, error)) (map[planKey][]byte, []*Rewrite, error) {
	type change struct {
		id       string
		us       int64
		old, new [32]byte
	}
	var changes []change
	plan := map[planKey][]byte{}
	for r, err := range sg.ScanSegment(ctx, segment, store.Query{}) {
		if err != nil {
			return nil, nil, fmt.Errorf("ledger: rewrite %s: %w", segment, err)
		}
		nl, changed, err := fn(r)
		if err != nil {
			return nil, nil, err
		}
		if changed && !bytes.Equal(nl, r.Line) {
			c := change{id: r.ID, us: r.Time.UnixMicro(), old: HashLine(r.Line), new: HashLine(nl)}
			changes = append(changes, c)
			plan[planKey{r.ID, c.old}] = nl
		}
	}
	type at struct{ log, idx int }
	where := map[[32]byte][]at{}
	for _, c := range changes {
		where[signedHash(orig, c.old)] = nil
	}
	for k := range logs {
		for i := range logs[k].leaves {
			if ps, ok := where[logs[k].leaves[i].Hash]; ok {
				where[logs[k].leaves[i].Hash] = append(ps, at{k, i})
			}
		}
	}
	used := map[at]bool{}
	recs := make([]*Rewrite, len(logs))
	for _, c := range changes {
		var pos at
		found := false
		for _, p := range where[signedHash(orig, c.old)] {
			if !used[p] && logs[p.log].leaves[p.idx].Time == c.us {
				pos, found = p, true
				break
			}
		}
		if !found {
			return nil, nil, &UnsignedLineError{Segment: segment, ID: c.id}
		}
		used[pos] = true
		if recs[pos.log] == nil {
			recs[pos.log] = &Rewrite{}
		}
		recs[pos.log].Leaves = append(recs[pos.log].Leaves, RewrittenLeaf{Index: uint64(pos.idx), Old: c.old, New: c.new})
	}
	for _, w := range recs {
		if w != nil {
			slices.SortFunc(w.Leaves, func(a, b RewrittenLeaf) int { return cmp.Compare(a.Index, b.Index) })
		}
	}
	return plan, recs, nil
}

// writeRewrite signs w and writes it as this ledger's next rewrite record.
// The caller holds cpMu.
func (l *Ledger) writeRewrite(ctx context.Context, w *Rewrite) error {
	names, err := l.sc.ListBlobs(ctx, prefixOf(l.slug)+rewritesDir)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	next := 0
	for _, name := range names {
		if n, ok := parseSeq(name, rewritesDir, delNameDigits); ok && int(n) >= next {
			next = int(n) + 1
		}
	}
	msg, err := note.Sign(&note.Note{Text: w.Text()}, l.opts.Signer)
	if err != nil {
		return fmt.Errorf("ledger: signing a rewrite record: %w", err)
	}
	if err := l.sc.WriteBlob(ctx, rewriteBlob(l.slug, next), msg); err != nil {
		return fmt.Errorf("ledger: writing a rewrite record: %w", err)
	}
	return nil
}
