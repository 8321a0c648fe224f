package ledger

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"maps"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// The journal is the ledger's write-ahead log: before a batch of records
// reaches the store, its leaves (hash and time) are appended to the
// journal as an intent; once the store acknowledged the batch, the journal
// records that too (an acknowledgement). The store makes the journal
// durable with the records that follow it (store.Appender): in the Always
// mode, the intent before Append returns. A restarted writer recovers exactly the
// lines the journal vouches for; a line that neither the signed tree nor
// the journal holds is foreign, and the writer refuses to start.
//
// Records are framed and chained (docs/format.md, "Journal"):
//
//	u32 length of body | body | 32-byte MAC
//	chain_i = SHA-256(chain_{i-1} || body_i), chain_0 = SHA-256(journalMagic || origin || gen)
//	MAC_i   = HMAC-SHA256(journal key, chain_i)
//
// The journal key is derived from a signature of the writer's key, so only
// the writer (who holds the signer key) can check or forge MACs; the seal
// records, signed notes over the chain, let a verifier with the public key
// alone authenticate the journal up to the last seal.
const (
	journalMagic = "comply-journal/v1"
	journalDir   = "journal/"
	journalDigit = 8

	recIntent = 'I' // u64 seq | u32 k | k × u64 acknowledged seq | u32 n | n × (32-byte hash, i64 time)
	recAck    = 'A' // u32 k | k × u64 acknowledged seq
	recSeal   = 'S' // a signed note over the chain before this record
	recFailed = 'F' // u64 seq: the store failed that intent's append
)

// maxJournalBody bounds one journal record: an intent of a whole batch.
const maxJournalBody = 64 << 20

func journalBlob(slug string, gen uint64) string {
	return fmt.Sprintf("%s%s%0*d", prefixOf(slug), journalDir, journalDigit, gen)
}

// journalKey derives the key of the journal MACs from the signer: Ed25519
// signatures are deterministic, so the signature of a fixed message is a
// secret only the key's holder can compute.
func journalKey(s note.Signer, origin string) ([]byte, error) {
	sig, err := s.Sign([]byte(journalMagic + " key\n" + origin + "\n"))
	if err != nil {
		return nil, fmt.Errorf("deriving the journal key: %w", err)
	}
	k := sha256.Sum256(append([]byte(journalMagic+" key\n"), sig...))
	return k[:], nil
}

func chainStart(origin string, gen uint64) [32]byte {
	return sha256.Sum256([]byte(journalMagic + "\n" + origin + "\n" + strconv.FormatUint(gen, 10) + "\n"))
}

// A journal is the writer side of the journal. mu guards every field.
// Records are framed (chained and MACed) under mu, in chain order, into
// pend; one caller at a time (writing) appends pend to the blob with mu
// released, and the others wait on cond (group write).
type journal struct {
	ap     store.Appender
	signer note.Signer
	origin string
	slug   string
	key    []byte

	mu       sync.Mutex
	gen      uint64
	name     string
	chain    [32]byte
	records  int
	seq      uint64            // the next intent's sequence number
	acks     []uint64          // acknowledged intents not yet written to the journal
	open     map[uint64]uint64 // intents not yet acknowledged: seq -> generation
	live     []uint64          // the generations of this session not yet removed
	sha, mac hash.Hash         // the chain's and the MACs', reused

	// Framed records wait in pend until one caller writes them all.
	pend, spare     []byte
	framed, written uint64 // bytes framed and written in this session
	ackEnd          uint64 // framed when the last acknowledgements were
	writing         bool
	cond            *sync.Cond // on mu: a write ended
	err             error      // sticky: the journal's state is unknown after a failed append
	durable         store.Durability
	sealDirty       bool // records since the last seal
}

func newJournal(ap store.Appender, signer note.Signer, origin, slug string, gen uint64) (*journal, error) {
	key, err := journalKey(signer, origin)
	if err != nil {
		return nil, err
	}
	j := &journal{ap: ap, signer: signer, origin: origin, slug: slug, key: key,
		open: map[uint64]uint64{}, durable: ap.Durability()}
	j.cond = sync.NewCond(&j.mu)
	j.startGen(gen)
	j.live = []uint64{gen}
	// Sequence numbers are unique across sessions too: a session's first
	// generation number is larger than any before it, so a leftover
	// generation of an earlier session never lends its acknowledgements to
	// this one's intents.
	j.seq = gen << 32
	return j, nil
}

// startGen makes gen the generation new records go to. The caller holds mu
// (or owns j).
func (j *journal) startGen(gen uint64) {
	j.gen, j.name, j.chain, j.records = gen, journalBlob(j.slug, gen), chainStart(j.origin, gen), 0
}

// frameLocked frames and chains one record into the buffer of records not
// yet written, and returns the session's byte count once it is written.
func (j *journal) frameLocked(body []byte) uint64 {
	if j.sha == nil {
		j.sha, j.mac = sha256.New(), hmac.New(sha256.New, j.key)
	}
	j.sha.Reset()
	j.sha.Write(j.chain[:])
	j.sha.Write(body)
	j.sha.Sum(j.chain[:0])
	j.mac.Reset()
	j.mac.Write(j.chain[:])
	n := len(j.pend)
	j.pend = binary.BigEndian.AppendUint32(j.pend, uint32(len(body)))
	j.pend = append(j.pend, body...)
	j.pend = j.mac.Sum(j.pend)
	j.framed += uint64(len(j.pend) - n)
	j.records++
	j.sealDirty = true
	return j.framed
}

// flushLocked returns once the first target bytes framed in this session
// are written to the journal blob. One caller writes for all waiting
// (group write), with j.mu released while it writes; the others wait.
func (j *journal) flushLocked(ctx context.Context, target uint64) error {
	for j.written < target {
		if j.err != nil {
			return j.err
		}
		if j.writing {
			j.cond.Wait()
			continue
		}
		j.writing = true
		buf, name, end := j.pend, j.name, j.framed
		j.pend = j.spare[:0]
		j.mu.Unlock()
		err := j.ap.AppendBlob(ctx, name, buf)
		j.mu.Lock()
		j.spare, j.writing = buf[:0], false
		if err != nil {
			// A partial frame may be in the blob: nothing more may follow it.
			j.err = fmt.Errorf("ledger: journal %s: %w", name, err)
		} else {
			j.written = end
		}
		j.cond.Broadcast()
	}
	return j.err
}

// appendLocked frames one record and writes it, with whatever else is
// framed.
func (j *journal) appendLocked(ctx context.Context, body []byte) error {
	if j.err != nil {
		return j.err
	}
	return j.flushLocked(ctx, j.frameLocked(body))
}

// intend appends the intent of a batch, with the acknowledgements not yet
// written, and returns its sequence number once it is written.
func (j *journal) intend(ctx context.Context, recs []store.Record) (seq uint64, err error) {
	// The leaves, hashed and encoded before taking the lock.
	leaves := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(recs)*leafSize), uint32(len(recs)))
	for i := range recs {
		h := HashLine(recs[i].Line)
		leaves = append(leaves, h[:]...)
		leaves = binary.BigEndian.AppendUint64(leaves, uint64(recs[i].Time.UnixMicro()))
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.err != nil {
		return 0, j.err
	}
	seq = j.seq
	body := binary.BigEndian.AppendUint64([]byte{recIntent}, seq)
	body = append(appendAcks(body, j.acks), leaves...)
	target := j.frameLocked(body)
	j.acks = j.acks[:0]
	j.seq++
	j.open[seq] = j.gen
	return seq, j.flushLocked(ctx, target)
}

func appendAcks(b []byte, acks []uint64) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(acks)))
	for _, a := range acks {
		b = binary.BigEndian.AppendUint64(b, a)
	}
	return b
}

// acknowledge records that the store acknowledged intent seq, or, if not
// ok, that it failed (its lines, if any reached the store, are then
// recovered or taken as never written). With write set (the Always mode),
// the acknowledgement is written before acknowledge returns, in one record
// with those of every caller waiting; otherwise it rides on the next
// intent or seal.
func (j *journal) acknowledge(ctx context.Context, seq uint64, ok, write bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	delete(j.open, seq)
	if !ok {
		return j.appendLocked(ctx, binary.BigEndian.AppendUint64([]byte{recFailed}, seq))
	}
	j.acks = append(j.acks, seq)
	if !write {
		return nil
	}
	j.frameAcksLocked()
	return j.flushLocked(ctx, j.ackEnd)
}

// frameAcksLocked frames the acknowledgements not yet framed as one
// record.
func (j *journal) frameAcksLocked() {
	if len(j.acks) > 0 {
		j.ackEnd = j.frameLocked(appendAcks([]byte{recAck}, j.acks))
		j.acks = j.acks[:0]
	}
}

// sealLocked writes the acknowledgements not yet written, then a seal: a
// signed note over the chain so far, which a verifier checks with the
// public key alone.
func (j *journal) sealLocked(ctx context.Context) error {
	if j.err != nil {
		return j.err
	}
	j.frameAcksLocked()
	if j.sealDirty {
		msg, err := note.Sign(&note.Note{Text: sealText(j.origin, j.gen, j.records, j.chain)}, j.signer)
		if err != nil {
			return fmt.Errorf("ledger: signing the journal seal: %w", err)
		}
		j.frameLocked(append([]byte{recSeal}, msg...))
		j.sealDirty = false
	}
	return j.flushLocked(ctx, j.framed)
}

func sealText(origin string, gen uint64, records int, chain [32]byte) string {
	return fmt.Sprintf("%s\n%s\ngen %d\nrecords %d\nchain %s\n", journalMagic, origin, gen, records,
		base64.StdEncoding.EncodeToString(chain[:]))
}

// rotate starts a new generation and returns the generations that no
// longer hold an unacknowledged intent: once a checkpoint that began after
// this call signs the tree, they can be removed.
func (j *journal) rotate(ctx context.Context) (old []uint64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.records > 0 {
		// Seal the generation and write it whole before the next begins;
		// others may frame more while a write has the lock released.
		if err := j.sealLocked(ctx); err != nil {
			return nil, err
		}
		for j.written < j.framed {
			if err := j.flushLocked(ctx, j.framed); err != nil {
				return nil, err
			}
		}
		j.startGen(j.gen + 1)
		j.live = append(j.live, j.gen)
	}
	busy := map[uint64]bool{j.gen: true} // generations with an intent in flight
	for _, g := range j.open {
		busy[g] = true
	}
	keep := j.live[:0]
	for _, g := range j.live {
		if busy[g] {
			keep = append(keep, g)
		} else {
			old = append(old, g)
		}
	}
	j.live = keep
	return old, nil
}

// A journalIntent is one intent as read back.
type journalIntent struct {
	rec    int // the record's index in its generation
	seq    uint64
	leaves []Leaf
	sealed bool // a seal signed it (set by a public reader)
}

// A journalLog is what a generation of the journal, read back, vouches for.
type journalLog struct {
	intents []journalIntent
	acked   map[uint64]bool // intents the store acknowledged
	failed  map[uint64]bool // intents whose append failed
	bad     error           // a record fails its MAC or seal: the journal was changed
}

// readJournal reads a generation of the journal. With key set (the
// writer), a record counts if its MAC holds; without (a verifier), intents
// count as sealed up to the last seal that one of the known keys signed.
// Acknowledgements count in both cases: a forged one could only make more
// absences count as deletions.
func readJournal(b []byte, origin string, gen uint64, key []byte, known note.Verifiers) *journalLog {
	jl := &journalLog{acked: map[uint64]bool{}, failed: map[uint64]bool{}}
	chain := chainStart(origin, gen)
	// chains[k] is the chain over the first k records, which a seal signs;
	// a verifier needs them all, as a seal may come after later records.
	var chains [][32]byte
	if key == nil {
		chains = append(chains, chain)
	}
	for records := 0; len(b) > 0; records++ {
		if len(b) < 4 {
			break // a torn last record: a crash while appending
		}
		n := binary.BigEndian.Uint32(b)
		if n == 0 || n > maxJournalBody {
			jl.bad = fmt.Errorf("record %d: length %d out of range", records, n)
			break
		}
		if uint64(len(b)) < 4+uint64(n)+32 {
			break // a torn last record
		}
		body, mac := b[4:4+n], b[4+n:4+n+32]
		b = b[4+n+32:]
		h := sha256.New()
		h.Write(chain[:])
		h.Write(body)
		h.Sum(chain[:0])
		if key != nil {
			m := hmac.New(sha256.New, key)
			m.Write(chain[:])
			if !hmac.Equal(m.Sum(nil), mac) {
				jl.bad = fmt.Errorf("record %d: MAC mismatch", records)
				break
			}
		}
		if err := jl.record(body, origin, gen, records, chains, key, known); err != nil {
			jl.bad = fmt.Errorf("record %d: %w", records, err)
			break
		}
		if key == nil {
			chains = append(chains, chain)
		}
	}
	return jl
}

// record takes in one record's body.
func (jl *journalLog) record(body []byte, origin string, gen uint64, records int, chains [][32]byte, key []byte, known note.Verifiers) error {
	switch body[0] {
	case recIntent:
		if len(body) < 13 {
			return errors.New("malformed intent")
		}
		seq := binary.BigEndian.Uint64(body[1:])
		rest, err := jl.readAcks(body[9:])
		if err != nil {
			return err
		}
		in, err := parseLeaves(rest, seq)
		if err != nil {
			return err
		}
		in.rec = records
		jl.intents = append(jl.intents, in)
	case recAck:
		if rest, err := jl.readAcks(body[1:]); err != nil || len(rest) != 0 {
			return errors.New("malformed acknowledgement")
		}
	case recFailed:
		if len(body) != 9 {
			return errors.New("malformed failure record")
		}
		jl.failed[binary.BigEndian.Uint64(body[1:])] = true
	case recSeal:
		if key != nil {
			return nil // the MACs vouch for every record already
		}
		n, err := checkSeal(body[1:], origin, gen, chains, known)
		if err != nil {
			return err
		}
		for i := len(jl.intents) - 1; i >= 0 && !jl.intents[i].sealed; i-- {
			if jl.intents[i].rec < n {
				jl.intents[i].sealed = true
			}
		}
	default:
		return fmt.Errorf("unknown type %q", body[0])
	}
	return nil
}

// readAcks reads a count and that many acknowledged sequence numbers, and
// returns the rest of b.
func (jl *journalLog) readAcks(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, errors.New("malformed acknowledgements")
	}
	k := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(len(b)) < 8*uint64(k) {
		return nil, errors.New("malformed acknowledgements")
	}
	for range k {
		jl.acked[binary.BigEndian.Uint64(b)] = true
		b = b[8:]
	}
	return b, nil
}

// parseLeaves reads an intent's leaves: a count, then the leaves.
func parseLeaves(b []byte, seq uint64) (journalIntent, error) {
	if len(b) < 4 {
		return journalIntent{}, errors.New("malformed intent")
	}
	n := binary.BigEndian.Uint32(b)
	b = b[4:]
	if uint64(len(b)) != uint64(n)*leafSize {
		return journalIntent{}, fmt.Errorf("intent of %d leaves has %d bytes", n, len(b))
	}
	in := journalIntent{seq: seq, leaves: make([]Leaf, n)}
	for i := range in.leaves {
		copy(in.leaves[i].Hash[:], b[:32])
		in.leaves[i].Time = int64(binary.BigEndian.Uint64(b[32:]))
		b = b[leafSize:]
	}
	return in, nil
}

// checkSeal checks a seal's signature and that it signs the chain over
// the first N records of the journal before it, and returns N.
func checkSeal(msg []byte, origin string, gen uint64, chains [][32]byte, known note.Verifiers) (int, error) {
	text, _, err := openNote(msg, known)
	if err != nil {
		return 0, fmt.Errorf("seal: %w", err)
	}
	lines := strings.Split(text, "\n")
	if len(lines) != 6 || lines[5] != "" {
		return 0, errors.New("malformed seal")
	}
	n, err := strconv.Atoi(strings.TrimPrefix(lines[3], "records "))
	if err != nil || n < 0 || n >= len(chains) || text != sealText(origin, gen, n, chains[n]) {
		return 0, errors.New("seal does not sign the journal before it")
	}
	return n, nil
}

// journalGens lists the generations of a ledger's journal, ascending.
func journalGens(ctx context.Context, sc store.Sidecar, slug string) ([]uint64, error) {
	names, err := sc.ListBlobs(ctx, prefixOf(slug)+journalDir)
	if err != nil {
		return nil, err
	}
	var gens []uint64
	for _, name := range names {
		if g, ok := parseSeq(name, journalDir, journalDigit); ok {
			gens = append(gens, g)
		}
	}
	return gens, nil
}

// readJournals reads every generation of a ledger's journal. Sequence
// numbers count intents from the start of the writer's session, which
// every generation present belongs to (a writer removes the generations
// of the session before it once it has signed them).
func readJournals(ctx context.Context, sc store.Sidecar, origin, slug string, key []byte, known note.Verifiers) (js *journalSet, err error) {
	gens, err := journalGens(ctx, sc, slug)
	if err != nil {
		return nil, err
	}
	js = &journalSet{acked: map[uint64]bool{}, failed: map[uint64]bool{}, gens: gens}
	for _, g := range gens {
		name := journalBlob(slug, g)
		b, err := sc.ReadBlob(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		jl := readJournal(b, origin, g, key, known)
		if jl.bad != nil {
			js.errs = append(js.errs, fmt.Errorf("%s: %w", name, jl.bad))
		}
		js.intents = append(js.intents, jl.intents...)
		maps.Copy(js.acked, jl.acked)
		maps.Copy(js.failed, jl.failed)
	}
	return js, nil
}

// A journalSet is every generation of a ledger's journal, read back.
type journalSet struct {
	gens    []uint64
	intents []journalIntent
	acked   map[uint64]bool // intents the store acknowledged
	failed  map[uint64]bool // intents whose append failed
	errs    []error         // records that fail their MAC or seal
}

// ackedIntent reports whether the store acknowledged the intent: its
// lines must then be in the store.
func (js *journalSet) ackedIntent(in *journalIntent) bool {
	return js.acked[in.seq] && !js.failed[in.seq]
}

// leaves returns the leaves of the intents, each with whether it was
// acknowledged.
func (js *journalSet) leaves() (ls []Leaf, acked []bool) {
	for i := range js.intents {
		a := js.ackedIntent(&js.intents[i])
		for _, lf := range js.intents[i].leaves {
			ls = append(ls, lf)
			acked = append(acked, a)
		}
	}
	return ls, acked
}
