package ledger

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/transparency-dev/merkle/compact"
	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// Defaults of Options.
const (
	DefaultCheckpointEvery    = 1000
	DefaultCheckpointInterval = time.Second
	DefaultHeartbeat          = time.Minute
)

// recoverySlack is how far before the last signed leaf's time a writer
// looks, on open, for lines whose leaves were not persisted: entries are
// stamped before they are written, and concurrent writers' stamps may
// interleave.
const recoverySlack = time.Minute

// Options configure a Ledger writer.
type Options struct {
	// Signer signs checkpoints and deletion records. Required. A *Signer
	// (NewSigner, LoadSigner) also lets the writer check its earlier
	// checkpoints on open.
	Signer note.Signer

	// Origin names the log in its checkpoints: a unique, stable name such
	// as "comply/<host>/<app>". Each writer of a store shared by several
	// writers needs its own. Empty means the store's one ledger if it has
	// one, else "comply/<hostname>/<random>".
	Origin string

	// CheckpointEvery and CheckpointInterval: a checkpoint is written after
	// every CheckpointEvery entries (default 1,000) or CheckpointInterval
	// (default 1 s) after the first unsigned entry, whichever comes first,
	// and at Close. Under heavy load, count-triggered checkpoints come at
	// most twice per CheckpointInterval, each covering what is queued.
	CheckpointEvery    int
	CheckpointInterval time.Duration

	// Heartbeat is the longest the writer stays without a checkpoint in its
	// history, idle or not (default 1 minute), so that Verify can tell "no
	// traffic" from "the logger was down".
	Heartbeat time.Duration

	// AdoptAll makes Open adopt every line of the store that is not in the
	// tree yet, in storage order (a full scan), and sign an adoption record
	// of those that its journal did not vouch for ('comply seal'). Without
	// it, a writer that finds a line it did not write, or an acknowledged
	// entry gone, refuses to open (a *RecoveryError).
	AdoptAll bool

	// AdoptReason is the operator's reason, kept in the adoption record.
	AdoptReason string

	// Progress, if set, is called from time to time during adoption with
	// the number of lines read so far.
	Progress func(read int64)

	// Now is the clock of checkpoint times; nil means time.Now.
	Now func() time.Time

	// ErrorLog receives the errors of background checkpoints. Nil means
	// slog.Default().
	ErrorLog *slog.Logger
}

// A Ledger is the writer side of a store's Merkle log: it follows the
// store's writes through store.Observable, hashing each line as an RFC 6962
// leaf in write order, and keeps the leaves, signed checkpoints and
// deletion records in the store's Sidecar blobs.
//
// The store's write path only hashes and queues (the observer); a
// background goroutine appends the leaves to the tree and writes the
// tiles, then the checkpoint that signs them.
type Ledger struct {
	st     store.Store
	sc     store.Sidecar
	opts   Options
	origin string
	slug   string
	self   note.Verifier // the signer's verifier, if known

	// The observer's side: mu guards pend, observed and backfill.
	mu       sync.Mutex
	pend     []Leaf
	observed uint64   // leaves queued since the tree began: the next one's index
	backfill []uint64 // indexes of queued leaves stamped well before they were written
	spare    []Leaf
	kick     chan struct{}
	digest   hash.Hash // used under the store's write lock only

	// The checkpointer's side, under cpMu.
	cpMu         sync.Mutex
	rng          *compact.Range // the tree of all appended leaves
	tile         []Leaf         // the leaves of the current, partial tile
	tileDirty    bool
	tileBuf      []byte     // a tile's encoding, reused
	full         []fullTile // full tiles not yet written
	last         *Checkpoint
	lastNote     []byte
	histDay      string
	hist         []byte // the current day's history blob
	lastHist     time.Time
	nextDel      int
	nextAdopt    int
	nextBackfill int
	recovered    int       // leaves appended by Open for lines the journal vouched for
	adopted      int       // leaves appended by Open for lines adopted by AdoptAll
	adoption     *Adoption // what Open adopted, signed after its first checkpoint
	err          error     // of the last checkpoint

	// The journal (nil for a store that keeps no append-only blobs).
	j     *journal
	jkey  []byte
	jgens []uint64 // the generations found on open, removed once signed

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

type fullTile struct {
	n      uint64
	leaves []Leaf
}

// event says why a checkpoint is written; every event but a plain one
// also goes into the history.
type event int

const (
	evPlain event = iota
	evHeartbeat
	evOpen
	evClose
	evDeletion
)

// Open opens the ledger of st for writing, creating it if the store has
// none, and starts following the store's writes. st must implement
// store.Sidecar and store.Observable, and Open must be called before the
// store's first Append: the ledger registers the store's observer.
//
// On open the ledger checks that its leaf tiles produce the root of its
// latest checkpoint (else it refuses, with an error wrapping ErrTampered),
// then appends the leaves of lines that were acknowledged after the last
// checkpoint but not yet signed (a crash), found by scanning the lines
// stamped since shortly before the last signed leaf. A store with entries
// but no ledger (a directory the Python library wrote) has all its lines
// adopted, in storage order. Open then writes a checkpoint.
//
// The Ledger does not own st: close the Ledger, then the store.
func Open(ctx context.Context, st store.Store, opts *Options) (*Ledger, error) {
	sc, ok := st.(store.Sidecar)
	if !ok {
		return nil, errors.New("ledger: the store keeps no sidecar blobs (store.Sidecar), so it cannot hold a ledger")
	}
	ob, ok := st.(store.Observable)
	if !ok {
		return nil, errors.New("ledger: the store does not report its writes (store.Observable), so it cannot feed a ledger")
	}
	l := &Ledger{st: st, sc: sc, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if opts != nil {
		l.opts = *opts
	}
	o := &l.opts
	if o.Signer == nil {
		return nil, fmt.Errorf("ledger: %w", ErrNoSigner)
	}
	if o.CheckpointEvery <= 0 {
		o.CheckpointEvery = DefaultCheckpointEvery
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = DefaultCheckpointInterval
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultHeartbeat
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ErrorLog == nil {
		o.ErrorLog = slog.Default()
	}
	if s, ok := o.Signer.(*Signer); ok {
		l.self = s.Verifier()
	}
	if err := l.chooseOrigin(ctx); err != nil {
		return nil, err
	}
	ap, journaled := st.(store.Appender)
	if journaled {
		var err error
		if l.jkey, err = journalKey(o.Signer, l.origin); err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
	}
	if err := l.load(ctx); err != nil {
		return nil, err
	}
	l.observed = l.rng.End() + uint64(len(l.pend))
	ob.Observe(l.observe)
	if err := l.start(ctx, ap); err != nil {
		ob.Observe(nil)
		return nil, err
	}
	go l.loop()
	if l.j != nil {
		go l.journalLoop()
	}
	return l, nil
}

// start writes the first checkpoint, which signs what Open recovered or
// adopted, then the adoption record, if any; then it removes the journal
// generations that checkpoint covers and starts a new one.
func (l *Ledger) start(ctx context.Context, ap store.Appender) error {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	if err := l.checkpointLocked(ctx, evOpen); err != nil {
		return fmt.Errorf("ledger: first checkpoint: %w", err)
	}
	if a := l.adoption; a != nil {
		a.Time, a.Key, a.Size = l.last.Time, fmt.Sprintf("%s+%08x", l.opts.Signer.Name(), l.opts.Signer.KeyHash()), l.last.Size
		msg, err := signAdoption(a, l.opts.Signer)
		if err != nil {
			return fmt.Errorf("ledger: signing the adoption record: %w", err)
		}
		if err := l.sc.WriteBlob(ctx, adoptionBlob(l.slug, l.nextAdopt), msg); err != nil {
			return fmt.Errorf("ledger: writing the adoption record: %w", err)
		}
		l.nextAdopt++
	}
	if ap == nil {
		return nil
	}
	var gen uint64
	for _, g := range l.jgens {
		if err := ap.RemoveBlob(ctx, journalBlob(l.slug, g)); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		gen = max(gen, g+1)
	}
	j, err := newJournal(ap, l.opts.Signer, l.origin, l.slug, gen)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	l.j = j
	return nil
}

// Origin returns the log's origin, the first line of its checkpoints.
func (l *Ledger) Origin() string { return l.origin }

// Size returns the number of leaves in the tree, signed or not.
func (l *Ledger) Size() uint64 {
	l.cpMu.Lock()
	n := l.rng.End()
	l.cpMu.Unlock()
	l.mu.Lock()
	n += uint64(len(l.pend))
	l.mu.Unlock()
	return n
}

// Recovered returns the number of lines Open found without a leaf whose
// intent the journal held: lines acknowledged after the last checkpoint
// before a crash.
func (l *Ledger) Recovered() int { return l.recovered }

// Adopted returns the number of lines Open adopted (Options.AdoptAll)
// that neither the tree nor the journal vouched for.
func (l *Ledger) Adopted() int { return l.adopted }

// Latest returns the latest checkpoint the ledger wrote, signed.
func (l *Ledger) Latest() []byte {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	return l.lastNote
}

func (l *Ledger) chooseOrigin(ctx context.Context) error {
	if o := l.opts.Origin; o != "" {
		if strings.ContainsFunc(o, unicode.IsControl) || !utf8.ValidString(o) || strings.HasPrefix(o, sigPrefix) || strings.TrimSpace(o) != o {
			return fmt.Errorf("ledger: origin %q: want one line without surrounding spaces", o)
		}
		l.origin, l.slug = o, Slug(o)
		return nil
	}
	slugs, err := listSlugs(ctx, l.sc)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	switch len(slugs) {
	case 0:
		host, _ := os.Hostname()
		if host == "" {
			host = "localhost"
		}
		var r [4]byte
		rand.Read(r[:])
		l.origin = "comply/" + strings.ToLower(host) + "/" + hex.EncodeToString(r[:])
		l.slug = Slug(l.origin)
		return nil
	case 1:
		b, err := l.sc.ReadBlob(ctx, latestBlob(slugs[0]))
		if err != nil {
			return fmt.Errorf("ledger: reading the latest checkpoint of %s: %w", slugs[0], err)
		}
		text, _ := noteText(b)
		c, err := ParseCheckpoint(text)
		if err != nil {
			return fmt.Errorf("ledger: %s: %w: %w", latestBlob(slugs[0]), ErrTampered, err)
		}
		l.origin, l.slug = c.Origin, slugs[0]
		return nil
	}
	return fmt.Errorf("ledger: the store holds several ledgers (%s); set the origin of this writer", strings.Join(slugs, ", "))
}

// load reads the ledger's state, checks it against the latest checkpoint
// and queues the leaves of the lines written since the last signed leaf.
func (l *Ledger) load(ctx context.Context) error {
	l.rng = factory.NewEmptyRange(0)
	l.tile = make([]Leaf, 0, TileSize)
	var signed []Leaf
	b, err := l.sc.ReadBlob(ctx, latestBlob(l.slug))
	switch {
	case errors.Is(err, store.ErrNotFound):
		// A new ledger. Stale tiles of a ledger that crashed before its
		// first checkpoint are rewritten as the log grows; but a ledger
		// with checkpoints in its history has lost its latest one.
		hist, err := l.sc.ListBlobs(ctx, prefixOf(l.slug)+historyDir)
		if err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		if len(hist) > 0 {
			return fmt.Errorf("ledger: %w: %s is missing, but the ledger has a checkpoint history", ErrTampered, latestBlob(l.slug))
		}
	case err != nil:
		return fmt.Errorf("ledger: %w", err)
	default:
		if signed, err = l.loadCheckpoint(ctx, b); err != nil {
			return err
		}
	}
	if err := l.loadHistory(ctx); err != nil {
		return err
	}
	dels, err := l.sc.ListBlobs(ctx, prefixOf(l.slug)+deletionsDir)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	for _, name := range dels {
		if n, ok := parseSeq(name, deletionsDir, delNameDigits); ok && int(n) >= l.nextDel {
			l.nextDel = int(n) + 1
		}
	}
	adopts, err := l.sc.ListBlobs(ctx, prefixOf(l.slug)+adoptionsDir)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	for _, name := range adopts {
		if n, ok := parseSeq(name, adoptionsDir, delNameDigits); ok && int(n) >= l.nextAdopt {
			l.nextAdopt = int(n) + 1
		}
	}
	fills, err := l.sc.ListBlobs(ctx, prefixOf(l.slug)+backfillsDir)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	for _, name := range fills {
		if n, ok := parseSeq(name, backfillsDir, delNameDigits); ok && int(n) >= l.nextBackfill {
			l.nextBackfill = int(n) + 1
		}
	}
	return l.recover(ctx, signed)
}

func (l *Ledger) loadCheckpoint(ctx context.Context, b []byte) ([]Leaf, error) {
	var known note.Verifiers
	if l.self != nil {
		known = note.VerifierList(l.self)
	}
	c, _, err := OpenCheckpoint(b, known)
	var se *SignatureError
	switch {
	case c == nil:
		return nil, fmt.Errorf("ledger: %s: %w: %w", latestBlob(l.slug), ErrTampered, err)
	case errors.As(err, &se) && se.Kind == UnknownKey && l.self != nil:
		// Signed by another key: a rotated key, or a forgery. The writer
		// carries on (the verifier, which knows the keys, decides); the
		// roots are still checked below.
		l.opts.ErrorLog.Warn("ledger: the latest checkpoint is signed by another key than this writer's; continuing the log (verify with both verifier keys)",
			"origin", c.Origin, "keys", strings.Join(se.Keys, ","))
	case errors.As(err, &se) && se.Kind == UnknownKey:
		// No verifier for the signer: nothing to check the signature with.
	case err != nil:
		return nil, fmt.Errorf("ledger: %s: %w: %w", latestBlob(l.slug), ErrTampered, err)
	}
	if c.Origin != l.origin {
		return nil, fmt.Errorf("ledger: %s: %w: it names origin %q, want %q", latestBlob(l.slug), ErrTampered, c.Origin, l.origin)
	}
	leaves, err := readLeaves(ctx, l.sc, l.slug, c.Size)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w: %w", ErrTampered, err)
	}
	appendLeaves(l.rng, leaves)
	if root := rootOf(l.rng); string(root) != string(c.Root) {
		return nil, fmt.Errorf("ledger: %w: the %d leaves of %s do not produce the root its checkpoint signed",
			ErrTampered, c.Size, l.origin)
	}
	start := c.Size - c.Size%TileSize
	l.tile = append(l.tile, leaves[start:]...)
	l.last, l.lastNote = c, b
	l.lastHist = c.Time
	return leaves, nil
}

func (l *Ledger) loadHistory(ctx context.Context) error {
	now := l.opts.Now()
	name := historyBlob(l.slug, now)
	b, err := l.sc.ReadBlob(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("ledger: %w", err)
	}
	if ns, err := splitNotes(b); err != nil {
		// Keep the readable notes; Verify reports the damage.
		l.opts.ErrorLog.Warn("ledger: damaged checkpoint history; keeping its readable part", "blob", name, "err", err)
		b = nil
		for _, n := range ns {
			b = append(b, n...)
		}
	}
	l.histDay, l.hist = name, b
	return nil
}

// otherLeaves returns the signed leaves of the store's other ledgers.
func (l *Ledger) otherLeaves(ctx context.Context) ([]Leaf, error) {
	logs, err := l.otherLogs(ctx)
	if err != nil {
		return nil, err
	}
	var leaves []Leaf
	for _, lg := range logs {
		leaves = append(leaves, lg.leaves...)
	}
	return leaves, nil
}

// otherLogs returns the store's other ledgers (other writers of a shared
// store), as far as their latest checkpoints sign.
func (l *Ledger) otherLogs(ctx context.Context) ([]storeLog, error) {
	slugs, err := listSlugs(ctx, l.sc)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	var logs []storeLog
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

// observe is the store's observer: it hashes the lines of each write, in
// write order, and queues the leaves. It runs under the store's write
// lock.
func (l *Ledger) observe(recs []store.Record) {
	if l.digest == nil {
		l.digest = sha256.New()
	}
	old := l.opts.Now().Add(-backfillSkew)
	l.mu.Lock()
	for i := range recs {
		if recs[i].Time.Before(old) {
			l.backfill = append(l.backfill, l.observed)
		}
		l.observed++
		lf := Leaf{Time: recs[i].Time.UnixMicro()}
		l.digest.Reset()
		l.digest.Write(leafPrefix)
		l.digest.Write(recs[i].Line)
		l.digest.Sum(lf.Hash[:0])
		l.pend = append(l.pend, lf)
	}
	n := len(l.pend)
	l.mu.Unlock()
	if n >= l.opts.CheckpointEvery {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

func (l *Ledger) pending() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pend)
}

// loop writes checkpoints in the background: when CheckpointEvery leaves
// are queued, every CheckpointInterval while leaves are queued, and a
// heartbeat when the history has no checkpoint for Heartbeat.
func (l *Ledger) loop() {
	defer close(l.done)
	tick := min(l.opts.CheckpointInterval, l.opts.Heartbeat)
	t := time.NewTicker(tick)
	defer t.Stop()
	// Under heavy load, checkpoints for CheckpointEvery entries come at
	// most twice per CheckpointInterval: each rewrites the partial tile and
	// syncs, and a burst of fsyncs stalls the writers' own writes.
	minGap := l.opts.CheckpointInterval / 2
	var last time.Time
	for {
		select {
		case <-l.stop:
			return
		case <-l.kick:
			if wait := minGap - time.Since(last); wait > 0 {
				select {
				case <-l.stop:
					return
				case <-time.After(wait):
				}
			}
		case <-t.C:
		}
		last = time.Now()
		l.cpMu.Lock()
		var err error
		switch {
		case l.pending() > 0 || l.err != nil:
			err = l.checkpointLocked(context.Background(), evPlain)
		case l.opts.Now().Sub(l.lastHist) >= l.opts.Heartbeat-tick/2:
			err = l.checkpointLocked(context.Background(), evHeartbeat)
		}
		l.cpMu.Unlock()
		if err != nil {
			l.opts.ErrorLog.Error("ledger: checkpoint failed; retrying", "origin", l.origin, "err", err)
		}
	}
}

// Checkpoint appends the queued leaves and writes a checkpoint now, and
// returns it signed.
func (l *Ledger) Checkpoint(ctx context.Context) ([]byte, error) {
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	if err := l.checkpointLocked(ctx, evPlain); err != nil {
		return nil, err
	}
	return l.lastNote, nil
}

// checkpointLocked appends the queued leaves to the tree, writes the tiles
// that hold them, then the signed checkpoint, and appends it to the
// history if ev asks for it or the heartbeat is due. The caller holds
// cpMu.
func (l *Ledger) checkpointLocked(ctx context.Context, ev event) error {
	// The journal generations whose intents are all acknowledged hold
	// only leaves observed by now, which this checkpoint signs: once it is
	// written, they go.
	var oldGens []uint64
	if l.j != nil {
		var err error
		if oldGens, err = l.j.rotate(ctx); err != nil {
			return l.fail(err)
		}
	}
	l.mu.Lock()
	p := l.pend
	l.pend, l.spare = l.spare[:0], nil
	backfill := l.backfill
	l.backfill = nil
	l.mu.Unlock()
	l.appendToTree(p)
	queued := p
	// Sign only lines that are durable: a checkpoint that outlived the
	// lines it signs (a power loss in a weaker durability mode) would read
	// as tampering.
	if sy, ok := l.st.(store.Syncer); ok && len(queued) > 0 {
		if err := sy.Sync(ctx); err != nil {
			return l.fail(err)
		}
	}

	if len(backfill) > 0 {
		if err := l.writeBackfill(ctx, backfill, l.rng.End()); err != nil {
			l.mu.Lock()
			l.backfill = append(backfill, l.backfill...)
			l.mu.Unlock()
			return l.fail(err)
		}
	}

	if err := l.writeTiles(ctx); err != nil {
		return l.fail(err)
	}

	now := l.opts.Now().UTC()
	if l.last != nil && !now.After(l.last.Time) {
		now = l.last.Time.Add(time.Nanosecond) // times strictly increase
	}
	c := &Checkpoint{Origin: l.origin, Size: l.rng.End(), Root: rootOf(l.rng), Time: now, Heartbeat: l.opts.Heartbeat, Closed: ev == evClose}
	msg, err := signCheckpoint(c, l.opts.Signer)
	if err != nil {
		return l.fail(err)
	}
	// The latest first: history without a latest checkpoint would mean
	// that someone removed it.
	if err := l.sc.WriteBlob(ctx, latestBlob(l.slug), msg); err != nil {
		return l.fail(err)
	}
	l.last, l.lastNote, l.err = c, msg, nil
	if ev != evPlain || now.Sub(l.lastHist) >= l.opts.Heartbeat {
		name := historyBlob(l.slug, now)
		if name != l.histDay {
			l.histDay, l.hist = name, nil
		}
		n := len(l.hist)
		l.hist = append(l.hist, msg...)
		if err := l.sc.WriteBlob(ctx, name, l.hist); err != nil {
			l.hist = l.hist[:n]
			return l.fail(err)
		}
		l.lastHist = now
	}
	for _, g := range oldGens {
		if err := l.j.ap.RemoveBlob(ctx, journalBlob(l.slug, g)); err != nil {
			return l.fail(err)
		}
	}
	return nil
}

// appendToTree appends leaves to the tree and the current tile, moving full
// tiles to l.full, and keeps the slice for reuse. The caller holds cpMu.
func (l *Ledger) appendToTree(leaves []Leaf) {
	for p := leaves; len(p) > 0; {
		k := min(TileSize-len(l.tile), len(p))
		l.tile = append(l.tile, p[:k]...)
		appendLeaves(l.rng, l.tile[len(l.tile)-k:])
		p, l.tileDirty = p[k:], true
		if len(l.tile) == TileSize {
			// The range keeps references into the tile: never reuse it.
			l.full = append(l.full, fullTile{n: l.rng.End()/TileSize - 1, leaves: l.tile})
			l.tile, l.tileDirty = make([]Leaf, 0, TileSize), false
		}
	}
	if cap(leaves) <= 1<<16 {
		l.spare = leaves[:0]
	}
}

// writeTiles writes the full tiles not yet written and the current tile
// if it changed. The caller holds cpMu.
func (l *Ledger) writeTiles(ctx context.Context) error {
	for len(l.full) > 0 {
		f := l.full[0]
		l.tileBuf = AppendTile(l.tileBuf[:0], f.leaves)
		if err := l.sc.WriteBlob(ctx, tileBlob(l.slug, f.n), l.tileBuf); err != nil {
			return err
		}
		l.full = l.full[1:]
	}
	if l.tileDirty {
		l.tileBuf = AppendTile(l.tileBuf[:0], l.tile)
		if err := l.sc.WriteBlob(ctx, tileBlob(l.slug, l.rng.End()/TileSize), l.tileBuf); err != nil {
			return err
		}
		l.tileDirty = false
	}
	return nil
}

func (l *Ledger) fail(err error) error {
	l.err = fmt.Errorf("ledger: %w of %s: %w", ErrCheckpoint, l.origin, err)
	return l.err
}

// Close stops the background checkpoints and writes a last checkpoint,
// marked closed, covering every entry written so far. It does not close
// the store. Entries the store writes after Close are not signed; the next
// writer to open the ledger adopts them.
func (l *Ledger) Close() error {
	l.closeOnce.Do(func() {
		close(l.stop)
		<-l.done
		l.cpMu.Lock()
		l.closeErr = l.checkpointLocked(context.Background(), evClose)
		l.cpMu.Unlock()
	})
	return l.closeErr
}
