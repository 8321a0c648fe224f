package ledger

import (
	"cmp"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Verifiers are the public keys whose signatures Verify trusts: the
	// writers' verifier keys, old ones included after a key rotation.
	Verifiers []note.Verifier

	// Trusted holds, per origin, the signed checkpoint that the verifier
	// trusted after its last successful run (Report.Trusted), kept outside
	// the store: the log must still contain it, or it was rolled back or
	// rewritten.
	Trusted map[string][]byte

	// FileName names the file(s) of a UTC day in a report of deleted files;
	// nil means "entries of YYYY-MM-DD". The file store's is
	// "audit_YYYYMMDD.jsonl".
	FileName func(day time.Time) string

	// Progress, if set, is called from time to time with the number of
	// lines read so far.
	Progress func(read int64)

	// Now is the clock that tells a live writer from one that stopped;
	// nil means time.Now.
	Now func() time.Time

	// MaxProblems bounds the problems the report lists (a forged
	// directory may have one per line); the rest are only counted, in
	// Report.Omitted. Zero means DefaultMaxProblems; negative, no bound.
	MaxProblems int

	// Start and End, when either is set, scope the check of the lines to
	// the entries stamped within them (inclusive bounds, as store.Query's;
	// a zero bound is open): only the store's lines of that time range are
	// read, and only the signed entries stamped within it count as missing
	// when absent. The checkpoints' signatures, the leaf tiles against
	// every signed root, the history and the trusted checkpoints are
	// checked whole, as without a scope. Report.Scope says so.
	Start, End time.Time

	// Prove lists records to prove, in the same pass over each ledger's
	// tree that checks its roots: Report.Proofs holds their inclusion
	// proofs against the newest checkpoint of a ledger that signs them
	// (as ProveAt makes them), nil for a record that no trusted ledger
	// signs as it is. A record with no line is skipped.
	Prove []store.Record
}

// scoped reports whether the options scope the check of the lines.
func (o *VerifyOptions) scoped() bool { return !o.Start.IsZero() || !o.End.IsZero() }

// inScope reports whether a leaf stamped t (Unix microseconds) is within
// the scope: always, without one.
func (o *VerifyOptions) inScope(t int64) bool {
	return (o.Start.IsZero() || t >= o.Start.UnixMicro()) && (o.End.IsZero() || t <= o.End.UnixMicro())
}

// DefaultMaxProblems is the default of VerifyOptions.MaxProblems.
const DefaultMaxProblems = 100_000

// pendingSlack is how much older than the last checkpoint of a running
// writer a line may be stamped and still count as not yet checkpointed.
const pendingSlack = time.Minute

// vlog is one ledger as Verify loads it.
type vlog struct {
	slug    string
	rep     *LogReport
	top     *Checkpoint // the newest checkpoint, trusted or not
	topNote []byte
	trusted bool // top is signed by a known key and the leaves produce its root
	fail    Kind // why not, if not
	leaves  []Leaf
	off     int // of its first leaf in the global order
	cps     []*Checkpoint
	dels    []*Deletion
	// Deletion records this ledger keeps for other origins (a writer that
	// deleted other writers' entries), and their blob names: see
	// assignDeletions.
	foreignDels  []*Deletion
	foreignNames []string
	adopts       []*Adoption
	backfilled   map[uint64]bool // leaves a backfill record names
	tcp          *Checkpoint     // the checkpoint trusted before, if any
	proofs       []*Proof        // of VerifyOptions.Prove against top, if trusted
}

// Verify checks a store against its ledgers: every checkpoint's signature
// against the verifier keys, the leaf tiles against every checkpoint's
// root, the checkpoints trusted before against the log's history, then
// every line of the store against the signed leaves, classifying what
// differs as modified, missing, inserted, reordered, truncated or file
// deleted; leaves named by a signed deletion record are deleted by policy,
// not missing. It reads the store in one pass and needs nothing secret.
// VerifyOptions.Start and End scope the lines read and checked to a time
// range (a report's period).
//
// The error is for a failure to read; what Verify finds is in the Report,
// whose OK method says whether the store verified.
func Verify(ctx context.Context, st store.SidecarStore, opts *VerifyOptions) (*Report, error) {
	var o VerifyOptions
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.FileName == nil {
		o.FileName = func(day time.Time) string { return "entries of " + day.Format("2006-01-02") }
	}
	known := note.VerifierList(o.Verifiers...)
	r := &Report{Problems: []Problem{}, Gaps: []Gap{}, Files: []FileReport{}}
	if o.scoped() {
		r.Scope = &Scope{Start: o.Start.UTC(), End: o.End.UTC()}
	}
	slugs, err := listSlugs(ctx, st)
	if err != nil {
		return nil, fmt.Errorf("ledger: verify: %w", err)
	}
	var logs []*vlog
	for _, slug := range slugs {
		lg, err := loadVLog(ctx, st, slug, known, &o, r)
		if err != nil {
			return nil, fmt.Errorf("ledger: verify: %w", err)
		}
		if lg != nil {
			logs = append(logs, lg)
		}
	}
	assignDeletions(logs, r)
	if len(o.Prove) > 0 {
		r.Proofs = make([]*Proof, len(o.Prove))
		for _, lg := range logs {
			for i, p := range lg.proofs {
				if r.Proofs[i] == nil {
					r.Proofs[i] = p
				}
			}
		}
	}
	for origin, b := range o.Trusted {
		if !slices.ContainsFunc(logs, func(lg *vlog) bool { return lg.rep.Origin == origin }) {
			size := "?"
			if c, _, err := OpenCheckpoint(b, known); c != nil && err == nil {
				size = fmt.Sprint(c.Size)
			}
			r.Problems = append(r.Problems, Problem{Kind: LedgerDeleted, Origin: origin, Offset: -1, Leaf: -1,
				Detail: fmt.Sprintf("the ledger %s, trusted before at %s entries, is not in the store", origin, size)})
		}
	}
	if o.MaxProblems == 0 {
		o.MaxProblems = DefaultMaxProblems
	}
	vj, err := loadJournals(ctx, st, logs, known, r)
	if err != nil {
		return nil, fmt.Errorf("ledger: verify: %w", err)
	}
	v := &verifier{r: r, logs: logs, o: &o, fileRep: map[string]int{}, vj: vj}
	if v.rewrites, err = readRewrites(ctx, st, known, v.badRewrite); err != nil {
		return nil, fmt.Errorf("ledger: verify: %w", err)
	}
	if err := v.scan(ctx, st); err != nil {
		return nil, err
	}
	if len(logs) == 0 && r.Entries > 0 {
		r.Problems = append(r.Problems, Problem{Kind: Unsealed, Offset: -1, Leaf: -1, Count: r.Entries,
			Detail: "the store has entries but no ledger: nothing signs them"})
	}
	if len(logs) > 0 {
		v.analyse()
		v.journalGone()
	} else {
		for i := range r.Files {
			if n := r.Files[i].Entries; n > 0 {
				v.add(Problem{Kind: Unsealed, File: r.Files[i].Name, Offset: -1, Leaf: -1, Count: n,
					Detail: fmt.Sprintf("none of its %d %s is signed", n, plural(int(n), "entry", "entries"))})
			}
		}
	}
	for _, lg := range logs {
		r.Logs = append(r.Logs, *lg.rep)
	}
	slices.SortStableFunc(r.Logs, func(a, b LogReport) int { return strings.Compare(a.Origin, b.Origin) })
	if r.OK() {
		r.Trusted = make(map[string][]byte)
		for _, lg := range logs {
			r.Trusted[lg.rep.Origin] = lg.topNote
		}
	}
	return r, nil
}

// loadVLog reads and checks one ledger. Problems go in r.
func loadVLog(ctx context.Context, sc store.Sidecar, slug string, known note.Verifiers, o *VerifyOptions, r *Report) (*vlog, error) {
	ld := &vlogLoader{sc: sc, known: known, r: r, lg: &vlog{slug: slug, rep: &LogReport{Valid: true}}, prove: o.Prove}
	notes, blobs, herr, err := ld.readCheckpoints(ctx)
	if err != nil {
		return nil, err
	}
	if len(notes) == 0 && herr == nil {
		// Only tiles or deletion records: a ledger whose writer never got
		// to its first checkpoint, or whose checkpoints were deleted.
		leaves, _ := sc.ListBlobs(ctx, prefixOf(slug))
		if len(leaves) == 0 {
			return nil, nil
		}
	}
	ld.lg.rep.Origin = slug
	cs := ld.openCheckpoints(notes, blobs, herr)
	if !ld.pickTop(cs) {
		return ld.lg, nil
	}
	ld.checkTrustedBefore(o.Trusted)
	ld.checkRoots(ctx)
	ld.checkHistory(len(cs.untrusted))
	if err := ld.readDeletions(ctx); err != nil {
		return nil, err
	}
	if err := loadAdoptions(ctx, ld.sc, ld.lg, ld.known, ld.problem); err != nil {
		return nil, err
	}
	if err := loadBackfills(ctx, ld.sc, ld.lg, ld.known, ld.problem); err != nil {
		return nil, err
	}
	return ld.lg, nil
}

// vlogLoader holds what the steps of loadVLog share.
type vlogLoader struct {
	sc    store.Sidecar
	known note.Verifiers
	r     *Report
	lg    *vlog
	prove []store.Record // VerifyOptions.Prove
}

// problem reports a problem of the ledger, which makes it invalid.
func (ld *vlogLoader) problem(k Kind, format string, args ...any) {
	ld.r.Problems = append(ld.r.Problems, Problem{Kind: k, Origin: ld.lg.rep.Origin, Offset: -1, Leaf: -1, Detail: fmt.Sprintf(format, args...)})
	ld.lg.rep.Valid = false
}

// readCheckpoints reads the checkpoint notes, the latest then the
// history, and the blob each came from. herr is an error of the history
// that still let some of it be read.
func (ld *vlogLoader) readCheckpoints(ctx context.Context) (notes [][]byte, blobs []string, herr, err error) {
	slug := ld.lg.slug
	latest, err := ld.sc.ReadBlob(ctx, latestBlob(slug))
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return nil, nil, nil, err
	default:
		notes, blobs = append(notes, latest), append(blobs, latestBlob(slug))
	}
	hn, hb, herr := readHistory(ctx, ld.sc, slug)
	if hn == nil && herr != nil && !errors.Is(herr, errCheckpoint) {
		return nil, nil, nil, herr
	}
	return append(notes, hn...), append(blobs, hb...), herr, nil
}

// checkpoints is what openCheckpoints found beside the trusted ones
// (kept in the vlog).
type checkpoints struct {
	untrusted      []*Checkpoint // readable, but not signed by a known key
	untrustedNotes [][]byte
	topNote        []byte // the note of the newest trusted checkpoint
	fail           Kind   // the kind of the first bad checkpoint, else UnknownKey
}

// openCheckpoints checks the signature and origin of every checkpoint,
// keeps the trusted ones and the newest of them as the top, and reports
// the bad ones, grouped by blob and kind.
func (ld *vlogLoader) openCheckpoints(notes [][]byte, blobs []string, herr error) checkpoints {
	lg := ld.lg
	type badKey struct {
		blob string
		kind Kind
	}
	bad := map[badKey][]string{}
	var badOrder []badKey
	addBad := func(blob string, err error) {
		k := badKey{blob, Malformed}
		var se *SignatureError
		if errors.As(err, &se) {
			k.kind = se.Kind
		}
		if bad[k] == nil {
			badOrder = append(badOrder, k)
		}
		bad[k] = append(bad[k], err.Error())
	}
	var cs checkpoints
	for i, n := range notes {
		c, key, err := OpenCheckpoint(n, ld.known)
		switch {
		case c == nil:
			addBad(blobs[i], err)
			continue
		case Slug(c.Origin) != lg.slug:
			ld.problem(Malformed, "%s holds a checkpoint of another origin, %q", blobs[i], c.Origin)
			continue
		case err != nil:
			addBad(blobs[i], err)
			cs.untrusted = append(cs.untrusted, c)
			cs.untrustedNotes = append(cs.untrustedNotes, n)
			continue
		}
		lg.rep.Origin = c.Origin
		lg.cps = append(lg.cps, c)
		if lg.top == nil || c.Size > lg.top.Size || c.Size == lg.top.Size && c.Time.After(lg.top.Time) {
			lg.top, cs.topNote, lg.rep.Key = c, n, key
		}
	}
	if lg.rep.Origin == lg.slug && len(cs.untrusted) > 0 {
		lg.rep.Origin = cs.untrusted[0].Origin
	}
	for _, k := range badOrder {
		msgs := bad[k]
		what := "a checkpoint"
		if len(msgs) > 1 {
			what = fmt.Sprintf("%d checkpoints", len(msgs))
		}
		ld.problem(k.kind, "%s in %s: %s", what, k.blob, msgs[0])
	}
	if herr != nil {
		ld.problem(Malformed, "checkpoint history: %v", herr)
	}
	lg.rep.Checkpoints = len(lg.cps) + len(cs.untrusted)
	cs.fail = UnknownKey
	if len(badOrder) > 0 {
		cs.fail = badOrder[0].kind
	}
	return cs
}

// pickTop settles the checkpoint the lines are matched against: the
// newest trusted one or, if none is trusted, the newest untrusted one, to
// say what else changed. It reports false if there is none.
func (ld *vlogLoader) pickTop(cs checkpoints) bool {
	lg := ld.lg
	lg.trusted = lg.top != nil
	topNote := cs.topNote
	if lg.top == nil {
		lg.fail = cs.fail
		for i, c := range cs.untrusted {
			if lg.top == nil || c.Size > lg.top.Size {
				lg.top, topNote = c, cs.untrustedNotes[i]
			}
		}
		if lg.top == nil {
			ld.problem(Malformed, "no readable checkpoint")
			return false
		}
	}
	lg.topNote = topNote
	lg.rep.Size, lg.rep.Root, lg.rep.Time, lg.rep.Closed = lg.top.Size, lg.top.Root, lg.top.Time, lg.top.Closed
	lg.rep.Checkpoint = string(topNote)
	return true
}

// checkTrustedBefore checks the log against the checkpoint the verifier
// trusted before: still signed by a known key, and not larger than the
// log (a rollback).
func (ld *vlogLoader) checkTrustedBefore(trusted map[string][]byte) {
	lg := ld.lg
	b, ok := trusted[lg.rep.Origin]
	if !ok {
		return
	}
	c, _, err := OpenCheckpoint(b, ld.known)
	switch {
	case err != nil || c == nil:
		ld.problem(Malformed, "the checkpoint trusted before cannot be verified: %v", err)
	case c.Size > lg.top.Size:
		ld.problem(RolledBack, "the log holds %d entries, but a checkpoint of %d entries (%s) was trusted before: its newest %d entries and their checkpoints were removed",
			lg.top.Size, c.Size, c.Time.Format(time.RFC3339), c.Size-lg.top.Size)
	default:
		lg.tcp = c
		lg.rep.Trusted = c.Size
	}
}

// checkRoots reads the leaves and checks that they produce the root of
// every checkpoint, and of the one trusted before.
func (ld *vlogLoader) checkRoots(ctx context.Context) {
	lg := ld.lg
	leaves, err := readLeaves(ctx, ld.sc, lg.slug, lg.top.Size)
	lg.leaves = leaves
	if err != nil {
		ld.problem(Forged, "%v", err)
		lg.trusted, lg.fail = false, Forged
	}
	sizes := []uint64{}
	for _, c := range lg.cps {
		if c.Size <= uint64(len(leaves)) {
			sizes = append(sizes, c.Size)
		}
	}
	if lg.tcp != nil && lg.tcp.Size <= uint64(len(leaves)) {
		sizes = append(sizes, lg.tcp.Size)
	}
	slices.Sort(sizes)
	sizes = slices.Compact(sizes)
	// The proofs asked for come from the same pass over the tree.
	var at []int
	var idx []uint64
	if len(ld.prove) > 0 && lg.trusted && lg.top.Size <= uint64(len(leaves)) {
		at = leavesOf(leaves[:lg.top.Size], ld.prove)
		idx = indexesOf(at)
	}
	roots, hashes, err := treePass(leaves, sizes, lg.top.Size, idx)
	if err != nil {
		panic(err) // unreachable: sizes and indexes are within the leaves
	}
	rootAt := func(n uint64) []byte {
		i, _ := slices.BinarySearch(sizes, n)
		return roots[i]
	}
	var forged []*Checkpoint
	for _, c := range lg.cps {
		if c.Size <= uint64(len(leaves)) && string(rootAt(c.Size)) != string(c.Root) {
			forged = append(forged, c)
		}
	}
	if len(forged) > 0 {
		slices.SortFunc(forged, func(a, b *Checkpoint) int { return cmp.Compare(a.Size, b.Size) })
		ld.problem(Forged, "the leaves kept beside the files do not produce the root signed by %d %s (the first at %d entries, %s): the integrity data was rewritten",
			len(forged), plural(len(forged), "checkpoint", "checkpoints"), forged[0].Size, forged[0].Time.Format(time.RFC3339))
		if string(rootAt(lg.top.Size)) != string(lg.top.Root) {
			lg.trusted, lg.fail = false, Forged
		}
	}
	if lg.trusted && len(idx) > 0 {
		lg.proofs = proofsAt(ld.prove, at, lg.top.Size, lg.topNote, hashes)
	}
	if lg.tcp != nil && lg.tcp.Size <= uint64(len(leaves)) && string(rootAt(lg.tcp.Size)) != string(lg.tcp.Root) {
		ld.problem(Inconsistent, "the first %d entries differ from those of the checkpoint trusted before (%s): the history was rewritten",
			lg.tcp.Size, lg.tcp.Time.Format(time.RFC3339))
	}
}

// checkHistory walks the trusted checkpoints in time order: sizes never
// shrink, and a silence longer than the heartbeat allows is a gap.
func (ld *vlogLoader) checkHistory(untrusted int) {
	lg := ld.lg
	hist := slices.Clone(lg.cps)
	slices.SortStableFunc(hist, func(a, b *Checkpoint) int { return a.Time.Compare(b.Time) })
	hist = slices.CompactFunc(hist, func(a, b *Checkpoint) bool { return a.Time.Equal(b.Time) && a.Size == b.Size })
	lg.rep.Checkpoints = len(hist) + untrusted
	for i := 1; i < len(hist); i++ {
		a, b := hist[i-1], hist[i]
		if b.Size < a.Size {
			ld.problem(RolledBack, "the checkpoint of %s signs %d entries, fewer than the %d of the checkpoint of %s before it",
				b.Time.Format(time.RFC3339), b.Size, a.Size, a.Time.Format(time.RFC3339))
		}
		hb := a.Heartbeat
		if hb <= 0 {
			hb = DefaultHeartbeat
		}
		if d := b.Time.Sub(a.Time); d > hb*3/2 {
			ld.r.Gaps = append(ld.r.Gaps, Gap{Origin: lg.rep.Origin, From: a.Time, To: b.Time, Length: d, Clean: a.Closed})
		}
	}
}

// readDeletions reads the deletion records, keeping those signed by a
// known key for this origin.
func (ld *vlogLoader) readDeletions(ctx context.Context) error {
	lg := ld.lg
	names, err := ld.sc.ListBlobs(ctx, prefixOf(lg.slug)+deletionsDir)
	if err != nil {
		return err
	}
	for _, name := range names {
		b, err := ld.sc.ReadBlob(ctx, name)
		if err != nil {
			return err
		}
		text, _, err := openNote(b, ld.known)
		var se *SignatureError
		if errors.As(err, &se) {
			ld.problem(se.Kind, "deletion record %s: %v; the entries it names are not taken as deleted by policy", name, err)
			continue
		}
		d, err := ParseDeletion(text)
		if err != nil {
			ld.problem(Malformed, "deletion record %s: %v", name, err)
			continue
		}
		if d.Origin != lg.rep.Origin {
			lg.foreignDels, lg.foreignNames = append(lg.foreignDels, d), append(lg.foreignNames, name)
			continue
		}
		if err := checkDeletion(d, lg.leaves); err != nil {
			ld.problem(Malformed, "deletion record %s: %v; the entries it names are not taken as deleted by policy", name, err)
			continue
		}
		lg.dels = append(lg.dels, d)
	}
	lg.rep.Deletions = len(lg.dels)
	return nil
}

// verifier holds the state of one Verify run over the store's lines.
type verifier struct {
	r      *Report
	logs   []*vlog
	o      *VerifyOptions
	leaves []Leaf  // every log's leaves, log after log
	seen   []int32 // per leaf: 1 + the file it was found in, 0 if not found
	del    []uint8 // per leaf: 0, or the reason it was deleted by policy (delRetention, delRequest)
	paired []bool  // per leaf: an unreadable or changed line took its place
	out    []bool  // per leaf: stamped outside the scope, so its line is not read (nil without a scope)

	vj       *vjournal
	rewrites []*Rewrite       // signed rewrite records (rewrite.go)
	alt      map[[32]byte]int // new leaf hash of a rewritten line -> its global leaf
	files    []*vfile
	unknown  []unknownLine
	fileRep  map[string]int // file name -> index in r.Files
	// dayCursor: per day, where pairByDay goes on in the unseen leaves.
	dayCursor map[int32]int
}

type vfile struct {
	name string
	obs  []obs
	day  int32 // of its first entry
	rep  int   // index in r.Files
}

// obs is one line of a file: the leaf it matched, or -1-k for the k-th
// unknown line.
type obs struct {
	leaf int64
	off  int64
}

type unknownLine struct {
	file    int
	pos     int // in the file's obs
	id      string
	off     int64
	t       time.Time
	corrupt bool
	dup     bool // its hash is a leaf's, already matched by another line
	vouched bool // a sealed intent of a journal holds it: acknowledged, not yet checkpointed
	flight  bool // an unsealed intent holds it: a live writer's, not yet sealed
}

// prepare lays the logs' leaves end to end and marks, per leaf, what is
// known before the scan: deleted by policy, outside the scope.
func (v *verifier) prepare() {
	n := 0
	for _, lg := range v.logs {
		lg.off = n
		n += len(lg.leaves)
	}
	if len(v.logs) == 1 {
		v.leaves = v.logs[0].leaves // one log: no copy
	} else {
		v.leaves = make([]Leaf, 0, n)
		for _, lg := range v.logs {
			v.leaves = append(v.leaves, lg.leaves...)
			lg.leaves = v.leaves[lg.off:len(v.leaves):len(v.leaves)]
		}
	}
	v.seen = make([]int32, n)
	v.paired = make([]bool, n)
	v.del = make([]uint8, n)
	for _, lg := range v.logs {
		for _, d := range lg.dels {
			for _, rg := range d.Ranges {
				for i := rg[0]; i <= rg[1] && i < uint64(len(lg.leaves)); i++ {
					v.del[lg.off+int(i)] = reasonCode(d.Reason)
				}
			}
		}
	}
	if v.o.scoped() {
		v.out = make([]bool, n)
		for i := range v.leaves {
			v.out[i] = !v.o.inScope(v.leaves[i].Time)
		}
	}
}

// scan reads every line of the store (of the scope) and matches it to a
// leaf.
func (v *verifier) scan(ctx context.Context, st store.Store) error {
	v.prepare()
	v.indexRewrites()
	// Scoped, the lines read are stamped within the scope, and so are
	// their leaves: only those are indexed.
	idx := newHashIndexOf(v.leaves, v.out)
	avail := func(i int) bool { return v.seen[i] == 0 }
	fileOf := map[string]int{}
	cur, curName := -1, ""
	d := sha256.New()
	sum := make([]byte, 0, sha256.Size)
	var h [32]byte
	// A scan of the scope's time range: every store skips the segments
	// (files, objects) outside it, and the file store reads of the others
	// only the stretch within it.
	for rec, err := range st.Scan(ctx, store.Query{Start: v.o.Start, End: v.o.End}) {
		var ce *store.CorruptionError
		if err != nil && !errors.As(err, &ce) {
			return fmt.Errorf("ledger: verify: reading the store: %w", err)
		}
		if ce != nil && ce.Offset < 0 {
			// A whole file the store does not read (the file store's
			// stray files: an odd name, a symlink): none of its lines is
			// verified.
			v.add(Problem{Kind: Inserted, File: ce.Path, Offset: -1, Leaf: -1,
				Detail: ce.Err.Error() + "; none of its lines is verified"})
			continue
		}
		path := rec.Path
		if ce != nil {
			path = ce.Path
		}
		if cur < 0 || path != curName {
			f, ok := fileOf[path]
			if !ok {
				f = len(v.files)
				fileOf[path] = f
				name := path
				if name == "" {
					name = "(store)" // a store that names no files
				}
				v.files = append(v.files, &vfile{name: name, rep: len(v.r.Files)})
				v.fileRep[name] = len(v.r.Files)
				v.r.Files = append(v.r.Files, FileReport{Name: name})
			}
			cur, curName = f, path
		}
		f := v.files[cur]
		v.r.Entries++
		v.r.Files[f.rep].Entries++
		if v.o.Progress != nil && v.r.Entries%16384 == 0 {
			v.o.Progress(v.r.Entries)
		}
		if ce != nil {
			v.unknown = append(v.unknown, unknownLine{file: cur, pos: len(f.obs), off: ce.Offset, corrupt: true})
			f.obs = append(f.obs, obs{leaf: -int64(len(v.unknown)), off: ce.Offset})
			continue
		}
		if len(f.obs) == 0 {
			f.day = dayOf(rec.Time.UnixMicro())
		}
		d.Reset()
		d.Write(leafPrefix)
		d.Write(rec.Line)
		copy(h[:], d.Sum(sum[:0]))
		p, dup := v.find(idx, &h, avail)
		if p >= 0 {
			v.seen[p] = int32(cur + 1)
			f.obs = append(f.obs, obs{leaf: int64(p), off: rec.Offset})
			continue
		}
		found, vouched := false, false
		if !dup {
			found, vouched = v.vj.match(&h)
		}
		v.unknown = append(v.unknown, unknownLine{file: cur, pos: len(f.obs), id: rec.ID, off: rec.Offset, t: rec.Time, dup: dup,
			vouched: vouched, flight: found && !vouched})
		f.obs = append(f.obs, obs{leaf: -int64(len(v.unknown)), off: rec.Offset})
	}
	if v.o.Progress != nil {
		v.o.Progress(v.r.Entries)
	}
	return nil
}

// Reasons of deletion by policy, per leaf.
const (
	delRetention = 1 + iota
	delRequest
)

func reasonCode(r Reason) uint8 {
	if r == Retention {
		return delRetention
	}
	return delRequest
}

// outside reports whether global leaf i is stamped outside the scope: its
// line was not read.
func (v *verifier) outside(i int) bool { return v.out != nil && v.out[i] }

// logAt returns the log that leaf i belongs to.
func (v *verifier) logAt(i int) *vlog {
	k := sort.Search(len(v.logs), func(k int) bool { return v.logs[k].off+len(v.logs[k].leaves) > i })
	return v.logs[k]
}

// local returns the log of global leaf i and its index in that log.
func (v *verifier) local(i int) (*vlog, int) {
	lg := v.logAt(i)
	return lg, i - lg.off
}

func (v *verifier) add(p Problem) {
	if p.Count == 0 {
		p.Count = 1
	}
	if p.File != "" {
		i, ok := v.fileRep[p.File]
		if !ok {
			i = len(v.r.Files)
			v.fileRep[p.File] = i
			v.r.Files = append(v.r.Files, FileReport{Name: p.File, Deleted: p.Kind == FileDeleted})
		}
		v.r.Files[i].Problems++
	}
	if max := v.o.MaxProblems; max >= 0 && len(v.r.Problems) >= max {
		v.r.Omitted++
		return
	}
	v.r.Problems = append(v.r.Problems, p)
}

// analyse classifies what the scan found.
func (v *verifier) analyse() {
	// The leaves not found, in order (deleted ones included).
	var unseen []int
	for i, s := range v.seen {
		if s == 0 && !v.outside(i) {
			unseen = append(unseen, i)
		}
	}
	for i := range v.leaves {
		if v.seen[i] == 0 && v.del[i] != 0 {
			v.r.Deleted++
			v.logAt(i).rep.Deleted++
		}
	}
	v.resurrected()
	running := v.runningSince()
	for fi, f := range v.files {
		v.analyseFile(fi, f, unseen, running)
	}
	v.missing(unseen)
	// Entries signed only by a ledger the verifier cannot trust.
	for fi, f := range v.files {
		per := map[*vlog]int64{}
		for _, ob := range f.obs {
			if ob.leaf >= 0 {
				if lg := v.logAt(int(ob.leaf)); !lg.trusted {
					per[lg]++
				}
			}
		}
		for _, lg := range v.logs {
			if n := per[lg]; n > 0 {
				v.add(Problem{Kind: lg.fail, File: v.files[fi].name, Offset: -1, Leaf: -1, Count: n, Origin: lg.rep.Origin,
					Detail: fmt.Sprintf("%d %s signed only by checkpoints of %s that the verifier cannot trust", n, plural(int(n), "entry is", "entries are"), lg.rep.Origin)})
			}
		}
	}
}

// runningSince returns, for a store whose newest checkpoint was not
// written at a writer's close (the writer is running, or crashed), the time
// since which an unsigned line counts as not yet checkpointed; else the
// zero time.
func (v *verifier) runningSince() time.Time {
	var t time.Time
	for _, lg := range v.logs {
		if lg.top != nil && !lg.top.Closed && lg.top.Time.After(t) && v.live(lg.top) {
			t = lg.top.Time
		}
	}
	if t.IsZero() {
		return t
	}
	return t.Add(-pendingSlack)
}

// live reports whether the writer of a checkpoint not written at its close
// may still be running: its heartbeat is not overdue. A writer that crashed
// long ago signs nothing more until it restarts, so its unsigned lines
// are not pending but unsigned.
func (v *verifier) live(c *Checkpoint) bool {
	hb := c.Heartbeat
	if hb <= 0 {
		hb = DefaultHeartbeat
	}
	return v.o.Now().Sub(c.Time) <= 2*hb+pendingSlack
}

// analyseFile finds the reordered, modified and inserted lines of a file.
func (v *verifier) analyseFile(fi int, f *vfile, unseen []int, running time.Time) {
	known, ordered := v.writeOrder(f)
	probs := v.reordered(f, known, ordered)
	if len(known) < len(f.obs) {
		probs = append(probs, v.unknownLines(f, ordered, unseen, running)...)
	}
	slices.SortStableFunc(probs, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
	for _, p := range probs {
		v.add(p)
	}
}

// writeOrder returns the positions of a file's known lines (those that
// match a leaf) and a function that says whether the known line at a
// position is in write order: on a longest increasing run of its log's
// leaf indexes (logs interleave; each log's leaves are in its own write
// order).
func (v *verifier) writeOrder(f *vfile) (known []int, ordered func(pos int) bool) {
	for i, ob := range f.obs {
		if ob.leaf >= 0 {
			known = append(known, i)
		}
	}
	inOrder := make(map[int]bool, 0)
	sorted := true
	byLog := map[*vlog][]int{}
	for _, pos := range known {
		lg := v.logAt(int(f.obs[pos].leaf))
		byLog[lg] = append(byLog[lg], pos)
	}
	for _, ps := range byLog {
		if slices.IsSortedFunc(ps, func(a, b int) int { return cmp.Compare(f.obs[a].leaf, f.obs[b].leaf) }) {
			for _, i := range ps {
				inOrder[i] = true
			}
			continue
		}
		sorted = false
		for _, i := range lis(ps, func(i int) int64 { return f.obs[i].leaf }) {
			inOrder[i] = true
		}
	}
	if sorted {
		clear(inOrder)
	}
	return known, func(pos int) bool { return sorted || inOrder[pos] }
}

// reordered counts the known lines in write order as valid (if their log
// is trusted) and returns a Reordered problem for each of the others.
func (v *verifier) reordered(f *vfile, known []int, ordered func(int) bool) []Problem {
	var probs []Problem
	for _, pos := range known {
		ob := f.obs[pos]
		lg, leaf := v.local(int(ob.leaf))
		if ordered(pos) {
			switch {
			case lg.trusted && lg.adopted(leaf):
				v.r.Adopted++
			case lg.trusted:
				v.r.Valid++
				if lg.backfilled[uint64(leaf)] {
					v.r.Backfilled++
				}
			}
			continue
		}
		probs = append(probs, Problem{Kind: Reordered, File: f.name, Line: int64(pos + 1), Offset: ob.off, Leaf: int64(leaf),
			Time: time.UnixMicro(v.leaves[ob.leaf].Time).UTC(), Origin: lg.rep.Origin,
			Detail: fmt.Sprintf("line %d is the entry signed as leaf %d, out of its write order", pos+1, leaf)})
	}
	return probs
}

// neighbours returns, for each line of a file, the leaves of the nearest
// known lines in write order before and after it (-1 if none).
func neighbours(f *vfile, ordered func(int) bool) (prev, next []int64) {
	prev = make([]int64, len(f.obs))
	next = make([]int64, len(f.obs))
	last := int64(-1)
	for i, ob := range f.obs {
		prev[i] = last
		if ob.leaf >= 0 && ordered(i) {
			last = ob.leaf
		}
	}
	last = -1
	for i := len(f.obs) - 1; i >= 0; i-- {
		next[i] = last
		if ob := f.obs[i]; ob.leaf >= 0 && ordered(i) {
			last = ob.leaf
		}
	}
	return prev, next
}

// unknownLines classifies the lines of a file that match no leaf: a
// changed line (Modified) where a missing leaf was between its known
// neighbours, a line not yet checkpointed by a running writer (pending,
// counted), else an Inserted line.
func (v *verifier) unknownLines(f *vfile, ordered func(int) bool, unseen []int, running time.Time) []Problem {
	prev, next := neighbours(f, ordered)
	var probs []Problem
	for pos, ob := range f.obs {
		if ob.leaf >= 0 {
			continue
		}
		u := &v.unknown[-ob.leaf-1]
		leaf := v.pair(prev[pos], next[pos], unseen)
		if leaf < 0 && prev[pos] < 0 && next[pos] < 0 && !u.corrupt {
			// No signed neighbour in the file: a line of a file whose
			// every line changed. Pair by day.
			leaf = v.pairByDay(dayOf(u.t.UnixMicro()), unseen)
		}
		p := Problem{File: f.name, Line: int64(pos + 1), Offset: u.off, ID: u.id, Leaf: -1, Time: u.t}
		what := "the line"
		if u.corrupt {
			what = "the line cannot be read, and"
		}
		switch {
		case leaf >= 0:
			v.paired[leaf] = true
			lg, li := v.local(leaf)
			p.Kind, p.Leaf, p.Origin = Modified, int64(li), lg.rep.Origin
			p.Detail = fmt.Sprintf("%s differs from the entry signed as leaf %d in its place", what, li)
			if u.corrupt {
				p.Detail = fmt.Sprintf("the line cannot be read; the entry signed as leaf %d was in its place", li)
			}
		case u.vouched && next[pos] < 0:
			v.r.Pending++
			continue
		case !u.corrupt && next[pos] < 0 && !running.IsZero() && !u.t.Before(running) && !u.t.After(v.o.Now().Add(pendingSlack)) &&
			(!v.vj.any || u.flight):
			v.r.Pending++
			continue
		case u.dup:
			p.Kind = Inserted
			p.Detail = "a copy of an entry found earlier; the ledger signed it once"
		case u.corrupt:
			p.Kind = Inserted
			p.Detail = "the line cannot be read, and no signed entry is missing in its place"
		default:
			p.Kind = Inserted
			p.Detail = "the ledger never signed this line"
		}
		probs = append(probs, p)
	}
	return probs
}

// pair returns a missing leaf that a changed line between the known leaves
// p and q (-1 if none) of a file most likely replaced, or -1: the first
// free one between them; after p alone, the first free one of the unseen
// run that follows p; before q alone, the last free one of the run that
// ends at q.
func (v *verifier) pair(p, q int64, unseen []int) int {
	free := func(i int) bool { return !v.paired[i] && v.del[i] == 0 && !v.outside(i) }
	switch {
	case p >= 0 && q >= 0:
		for k, _ := slices.BinarySearch(unseen, int(p)+1); k < len(unseen) && unseen[k] < int(q); k++ {
			if free(unseen[k]) {
				return unseen[k]
			}
		}
	case p >= 0:
		end := len(v.logAt(int(p)).leaves) + v.logAt(int(p)).off
		for i := int(p) + 1; i < end && v.seen[i] == 0 && !v.outside(i); i++ {
			if free(i) {
				return i
			}
		}
	case q >= 0:
		start := v.logAt(int(q)).off
		for i := int(q) - 1; i >= start && v.seen[i] == 0 && !v.outside(i); i-- {
			if free(i) {
				return i
			}
		}
	}
	return -1
}

// pairByDay returns the first free missing leaf stamped on day d, or -1.
func (v *verifier) pairByDay(d int32, unseen []int) int {
	if v.dayCursor == nil {
		v.dayCursor = map[int32]int{}
	}
	k, ok := v.dayCursor[d]
	if !ok {
		k = sort.Search(len(unseen), func(k int) bool { return dayOf(v.leaves[unseen[k]].Time) >= d })
	}
	for ; k < len(unseen); k++ {
		i := unseen[k]
		if dayOf(v.leaves[i].Time) != d {
			if ok || dayOf(v.leaves[i].Time) > d {
				break
			}
			continue
		}
		if !v.paired[i] && v.del[i] == 0 {
			v.dayCursor[d] = k + 1
			return i
		}
	}
	v.dayCursor[d] = k
	return -1
}

// missing reports the leaves not found, not paired with a changed line
// and not deleted by policy: runs of them, by day, as missing, truncated
// or file deleted.
func (v *verifier) missing(unseen []int) {
	days := map[int32]bool{}
	for _, f := range v.files {
		if len(f.obs) > 0 {
			days[f.day] = true
		}
	}
	for k := 0; k < len(unseen); {
		// A maximal run [a, b] of unseen leaves of one log.
		a := unseen[k]
		lg := v.logAt(a)
		end := lg.off + len(lg.leaves)
		b := a
		for k++; k < len(unseen) && unseen[k] == b+1 && unseen[k] < end; k++ {
			b++
		}
		fp, fn := -1, -1
		if a > lg.off {
			fp = int(v.seen[a-1]) - 1
		}
		if b+1 < end {
			fn = int(v.seen[b+1]) - 1
		}
		// Its missing leaves, by day.
		for i := a; i <= b; {
			if v.paired[i] || v.del[i] != 0 {
				i++
				continue
			}
			d := dayOf(v.leaves[i].Time)
			j, n := i, int64(0)
			last := i
			for ; j <= b && (v.paired[j] || v.del[j] != 0 || dayOf(v.leaves[j].Time) == d); j++ {
				if !v.paired[j] && v.del[j] == 0 {
					n++
					last = j
				}
			}
			p := Problem{Offset: -1, Leaf: int64(i - lg.off), Count: n, Time: time.UnixMicro(v.leaves[i].Time).UTC(), Origin: lg.rep.Origin}
			span := fmt.Sprintf("%d %s signed as %s, stamped %s, %s", n, plural(int(n), "entry", "entries"),
				leafSpan(i-lg.off, last-lg.off), timeSpan(v.leaves[i].Time, v.leaves[last].Time), plural(int(n), "is", "are"))
			dp, dn := int32(-1), int32(-1)
			if fp >= 0 {
				dp = dayOf(v.leaves[a-1].Time)
			}
			if fn >= 0 {
				dn = dayOf(v.leaves[b+1].Time)
			}
			switch {
			case fp >= 0 && fp == fn:
				p.Kind, p.File = Missing, v.files[fp].name
				p.Detail = span + " gone from the middle of the file"
			case fp >= 0 && dp == d:
				p.Kind, p.File = Truncated, v.files[fp].name
				p.Detail = "the file ends early: " + span + " gone from its end"
			case fn >= 0 && dn == d:
				p.Kind, p.File = Missing, v.files[fn].name
				p.Detail = span + " gone from the start of the file"
			case !days[d]:
				name := v.o.FileName(dayTime(d))
				p.Kind, p.File = FileDeleted, name
				p.Detail = span + " gone with their file"
			default:
				p.Kind = Missing
				for _, f := range v.files {
					if f.day == d && len(f.obs) > 0 {
						p.File = f.name
						break
					}
				}
				p.Detail = span + " gone"
			}
			v.add(p)
			i = j
		}
	}
}

func leafSpan(a, b int) string {
	if a == b {
		return fmt.Sprintf("leaf %d", a)
	}
	return fmt.Sprintf("leaves %d-%d", a, b)
}

func timeSpan(a, b int64) string {
	ta, tb := time.UnixMicro(a).UTC(), time.UnixMicro(b).UTC()
	const f = "2006-01-02 15:04:05"
	if a == b || ta.Format(f) == tb.Format(f) {
		return ta.Format(f)
	}
	return ta.Format(f) + " to " + tb.Format(f)
}

// lis returns the elements of xs on a longest strictly increasing
// subsequence of key(x), in order.
func lis(xs []int, key func(int) int64) []int {
	tails := []int{} // indexes into xs
	prev := make([]int, len(xs))
	for i, x := range xs {
		k := key(x)
		j := sort.Search(len(tails), func(j int) bool { return key(xs[tails[j]]) >= k })
		if j > 0 {
			prev[i] = tails[j-1]
		} else {
			prev[i] = -1
		}
		if j == len(tails) {
			tails = append(tails, i)
		} else {
			tails[j] = i
		}
	}
	out := make([]int, len(tails))
	for i, k := len(tails)-1, tails[len(tails)-1]; i >= 0; i, k = i-1, prev[k] {
		out[i] = xs[k]
	}
	return out
}

// resurrected reports the entries that a signed deletion record removed by
// policy but whose lines are in the store again: an old copy put back (an
// earlier generation of an S3 segment under a newer name, a restored
// file).
func (v *verifier) resurrected() {
	for i := range v.leaves {
		if v.seen[i] == 0 || v.del[i] == 0 {
			continue
		}
		lg, li := v.local(i)
		v.add(Problem{Kind: Inserted, File: v.files[v.seen[i]-1].name, Offset: -1, Leaf: int64(li), Origin: lg.rep.Origin,
			Time:   time.UnixMicro(v.leaves[i].Time).UTC(),
			Detail: fmt.Sprintf("the entry signed as leaf %d was deleted by policy, yet its line is here again", li)})
	}
}
