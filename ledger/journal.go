package ledger

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// The journal is the ledger's write-ahead log: before a batch of records
// reaches the store, its leaves (hash and time) are appended to the
// journal as an intent; once the store acknowledged the batch, the journal
// records that too (the watermark). In the Always mode the journal is
// synced before Append returns. A restarted writer recovers exactly the
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

	recIntent    = 'I' // u64 seq | u64 watermark | u32 n | n × (32-byte hash, i64 time)
	recWatermark = 'W' // u64 watermark
	recSeal      = 'S' // a signed note: the chain before this record, and the watermark
	recFailed    = 'F' // u64 seq: the store failed that intent's append
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

// A journal is the writer side of the journal. mu guards every field; the
// store is never called with mu held except to append to the journal blob,
// which keeps the records in chain order.
type journal struct {
	ap     store.Appender
	signer note.Signer
	origin string
	slug   string
	key    []byte

	mu        sync.Mutex
	gen       uint64
	name      string
	chain     [32]byte
	records   int
	seq       uint64            // the next intent's sequence number
	mark      uint64            // every intent below it is acknowledged
	written   uint64            // mark as last written to the journal
	done      map[uint64]bool   // acknowledged intents at or above mark
	open      map[uint64]uint64 // intents not yet acknowledged: seq -> gen
	perGen    map[uint64]int    // intents not yet acknowledged, per generation
	live      []uint64          // the generations of this session not yet removed
	appended  uint64            // records appended in this session
	buf       []byte
	err       error // sticky: the journal's state is unknown after a failed append
	syncMu    sync.Mutex
	synced    uint64 // records appended before the last sync
	durable   store.Durability
	sealDirty bool // records since the last seal
}

func newJournal(ap store.Appender, signer note.Signer, origin, slug string, gen uint64) (*journal, error) {
	key, err := journalKey(signer, origin)
	if err != nil {
		return nil, err
	}
	j := &journal{ap: ap, signer: signer, origin: origin, slug: slug, key: key,
		done: map[uint64]bool{}, open: map[uint64]uint64{}, perGen: map[uint64]int{}, durable: ap.Durability()}
	j.startGen(gen)
	j.live = []uint64{gen}
	return j, nil
}

// startGen makes gen the generation new records go to. The caller holds mu
// (or owns j).
func (j *journal) startGen(gen uint64) {
	j.gen, j.name, j.chain, j.records = gen, journalBlob(j.slug, gen), chainStart(j.origin, gen), 0
}

// appendLocked frames, chains and appends one record.
func (j *journal) appendLocked(ctx context.Context, body []byte) error {
	if j.err != nil {
		return j.err
	}
	frame := binary.BigEndian.AppendUint32(j.buf[:0], uint32(len(body)))
	frame = append(frame, body...)
	h := sha256.New()
	h.Write(j.chain[:])
	h.Write(body)
	var chain [32]byte
	h.Sum(chain[:0])
	m := hmac.New(sha256.New, j.key)
	m.Write(chain[:])
	frame = m.Sum(frame)
	j.buf = frame
	if err := j.ap.AppendBlob(ctx, j.name, frame); err != nil {
		// A partial frame may be on disk: nothing more may follow it.
		j.err = fmt.Errorf("ledger: journal %s: %w", j.name, err)
		return j.err
	}
	j.chain, j.records = chain, j.records+1
	j.appended++
	j.sealDirty = true
	return nil
}

// intend appends the intent of a batch and returns its sequence number.
func (j *journal) intend(ctx context.Context, recs []store.Record) (uint64, error) {
	body := make([]byte, 0, 21+len(recs)*leafSize)
	j.mu.Lock()
	defer j.mu.Unlock()
	seq := j.seq
	body = append(body, recIntent)
	body = binary.BigEndian.AppendUint64(body, seq)
	body = binary.BigEndian.AppendUint64(body, j.mark)
	body = binary.BigEndian.AppendUint32(body, uint32(len(recs)))
	for i := range recs {
		h := HashLine(recs[i].Line)
		body = append(body, h[:]...)
		body = binary.BigEndian.AppendUint64(body, uint64(recs[i].Time.UnixMicro()))
	}
	if err := j.appendLocked(ctx, body); err != nil {
		return 0, err
	}
	j.seq++
	j.written = j.mark
	j.open[seq] = j.gen
	j.perGen[j.gen]++
	return seq, nil
}

// acknowledge records that the store acknowledged intent seq, or, if
// failed, that it did not (its lines, if any reached the store, are then
// recovered or reported as in flight). With write set, the new watermark
// is appended at once (the Always mode); otherwise it rides on the next
// record.
func (j *journal) acknowledge(ctx context.Context, seq uint64, ok, write bool) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if !ok {
		// Its lines may or may not be in the store: say so, so that a
		// restarted writer does not take them for deleted.
		body := binary.BigEndian.AppendUint64([]byte{recFailed}, seq)
		if err := j.appendLocked(ctx, body); err != nil {
			return err
		}
	}
	if g, ok := j.open[seq]; ok {
		delete(j.open, seq)
		if j.perGen[g]--; j.perGen[g] == 0 && g != j.gen {
			delete(j.perGen, g)
		}
	}
	j.done[seq] = true
	for j.done[j.mark] {
		delete(j.done, j.mark)
		j.mark++
	}
	if !write || j.mark == j.written {
		return nil
	}
	body := binary.BigEndian.AppendUint64([]byte{recWatermark}, j.mark)
	if err := j.appendLocked(ctx, body); err != nil {
		return err
	}
	j.written = j.mark
	return nil
}

// sync seals the journal and makes it durable, once for every caller
// waiting (group commit): when it returns, every record appended before
// the call is durable.
func (j *journal) sync(ctx context.Context) error {
	j.mu.Lock()
	need := j.appended
	j.mu.Unlock()
	j.syncMu.Lock()
	defer j.syncMu.Unlock()
	if j.synced >= need {
		return nil
	}
	j.mu.Lock()
	err := j.sealLocked(ctx)
	upto, name := j.appended, j.name
	j.mu.Unlock()
	if err != nil {
		return err
	}
	if err := j.ap.SyncBlob(ctx, name); err != nil {
		return fmt.Errorf("ledger: journal %s: %w", name, err)
	}
	j.synced = upto
	return nil
}

// sealLocked appends a seal: a signed note over the chain so far and the
// watermark, which a verifier checks with the public key alone.
func (j *journal) sealLocked(ctx context.Context) error {
	if !j.sealDirty {
		return nil
	}
	text := fmt.Sprintf("%s\n%s\ngen %d\nrecords %d\nchain %s\nwatermark %d\n", journalMagic, j.origin, j.gen, j.records,
		base64.StdEncoding.EncodeToString(j.chain[:]), j.mark)
	msg, err := note.Sign(&note.Note{Text: text}, j.signer)
	if err != nil {
		return fmt.Errorf("ledger: signing the journal seal: %w", err)
	}
	if err := j.appendLocked(ctx, append([]byte{recSeal}, msg...)); err != nil {
		return err
	}
	j.written = j.mark
	j.sealDirty = false
	return nil
}

// rotate starts a new generation and returns the generations that no
// longer hold an unacknowledged intent: once a checkpoint that began after
// this call signs the tree, they can be removed.
func (j *journal) rotate(ctx context.Context) (old []uint64, err error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.records > 0 {
		if err := j.sealLocked(ctx); err != nil {
			return nil, err
		}
		// A sync in flight may already count this generation's records
		// as synced while syncing the next one: sync it here.
		if j.durable != store.None {
			if err := j.ap.SyncBlob(ctx, j.name); err != nil {
				j.err = fmt.Errorf("ledger: journal %s: %w", j.name, err)
				return nil, j.err
			}
		}
		j.startGen(j.gen + 1)
		j.live = append(j.live, j.gen)
	}
	keep := j.live[:0]
	for _, g := range j.live {
		if g != j.gen && j.perGen[g] == 0 {
			delete(j.perGen, g)
			old = append(old, g)
			continue
		}
		keep = append(keep, g)
	}
	j.live = keep
	return old, nil
}

// A journalIntent is one intent as read back.
type journalIntent struct {
	gen    uint64
	seq    uint64
	leaves []Leaf
	sealed bool // a seal signed it (set by a public reader)
}

// A journalLog is what a generation of the journal, read back, vouches for.
type journalLog struct {
	intents []journalIntent
	failed  map[uint64]bool // intents whose append failed
	mark    uint64          // the highest watermark that the trusted records carry
	torn    bool            // the last record is incomplete (a crash while appending)
	bad     error           // a record fails its MAC or seal: the journal was changed
}

// readJournal reads a generation of the journal. With key set (the
// writer), a record counts if its MAC holds; without (a verifier), only
// the records up to the last seal that one of the known keys signed count.
func readJournal(b []byte, origin string, gen uint64, key []byte, known note.Verifiers) *journalLog {
	jl := &journalLog{}
	chain := chainStart(origin, gen)
	var pending []journalIntent // not yet sealed, for a verifier
	var pendMark uint64
	records := 0
	for len(b) > 0 {
		if len(b) < 4 {
			jl.torn = true
			break
		}
		n := binary.BigEndian.Uint32(b)
		if n == 0 || n > maxJournalBody {
			jl.bad = fmt.Errorf("record %d: length %d out of range", records, n)
			break
		}
		if uint64(len(b)) < 4+uint64(n)+32 {
			jl.torn = true
			break
		}
		body, mac := b[4:4+n], b[4+n:4+n+32]
		b = b[4+n+32:]
		prev := chain
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
		switch body[0] {
		case recIntent:
			in, mark, err := parseIntent(body, gen)
			if err != nil {
				jl.bad = fmt.Errorf("record %d: %w", records, err)
				return jl
			}
			pending = append(pending, in)
			pendMark = max(pendMark, mark)
		case recWatermark, recFailed:
			if len(body) != 9 {
				jl.bad = fmt.Errorf("record %d: malformed %q record", records, body[0])
				return jl
			}
			if v := binary.BigEndian.Uint64(body[1:]); body[0] == recFailed {
				if jl.failed == nil {
					jl.failed = map[uint64]bool{}
				}
				jl.failed[v] = true
			} else {
				pendMark = max(pendMark, v)
			}
		case recSeal:
			if key == nil {
				mark, err := checkSeal(body[1:], origin, gen, records, prev, known)
				if err != nil {
					jl.bad = fmt.Errorf("record %d: %w", records, err)
					return jl
				}
				for i := range pending {
					pending[i].sealed = true
				}
				jl.intents = append(jl.intents, pending...)
				pending = pending[:0]
				jl.mark = max(jl.mark, mark)
			}
		default:
			jl.bad = fmt.Errorf("record %d: unknown type %q", records, body[0])
			return jl
		}
		records++
	}
	// Unsealed intents count for the writer, which checked their MACs; a
	// verifier keeps them with sealed unset. Unsealed watermarks count for
	// both: a forged one could only make more entries count as
	// acknowledged, and so more absences as deletions.
	jl.intents = append(jl.intents, pending...)
	jl.mark = max(jl.mark, pendMark)
	return jl
}

func parseIntent(body []byte, gen uint64) (journalIntent, uint64, error) {
	if len(body) < 21 {
		return journalIntent{}, 0, errors.New("malformed intent")
	}
	in := journalIntent{gen: gen, seq: binary.BigEndian.Uint64(body[1:])}
	mark := binary.BigEndian.Uint64(body[9:])
	n := binary.BigEndian.Uint32(body[17:])
	rest := body[21:]
	if uint64(len(rest)) != uint64(n)*leafSize {
		return journalIntent{}, 0, fmt.Errorf("intent of %d leaves has %d bytes", n, len(rest))
	}
	in.leaves = make([]Leaf, n)
	for i := range in.leaves {
		copy(in.leaves[i].Hash[:], rest[:32])
		in.leaves[i].Time = int64(binary.BigEndian.Uint64(rest[32:]))
		rest = rest[leafSize:]
	}
	return in, mark, nil
}

// checkSeal checks a seal's signature and that it signs the chain before
// it, and returns its watermark.
func checkSeal(msg []byte, origin string, gen uint64, records int, chain [32]byte, known note.Verifiers) (uint64, error) {
	text, _, err := openNote(msg, known)
	if err != nil {
		return 0, fmt.Errorf("seal: %w", err)
	}
	want := fmt.Sprintf("%s\n%s\ngen %d\nrecords %d\nchain %s\nwatermark ", journalMagic, origin, gen, records,
		base64.StdEncoding.EncodeToString(chain[:]))
	rest, ok := strings.CutPrefix(text, want)
	if !ok {
		return 0, errors.New("seal does not sign the journal before it")
	}
	mark, err := strconv.ParseUint(strings.TrimSuffix(rest, "\n"), 10, 64)
	if err != nil || !strings.HasSuffix(rest, "\n") {
		return 0, errors.New("seal: malformed watermark")
	}
	return mark, nil
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

// readJournals reads every generation of a ledger's journal. The
// watermark of each generation counts intents from the start of the
// writer's session, so the intents below the largest watermark among the
// generations of one session were acknowledged.
func readJournals(ctx context.Context, sc store.Sidecar, origin, slug string, key []byte, known note.Verifiers) (js *journalSet, err error) {
	gens, err := journalGens(ctx, sc, slug)
	if err != nil {
		return nil, err
	}
	js = &journalSet{failed: map[uint64]bool{}, gens: gens}
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
		js.mark = max(js.mark, jl.mark)
		for s := range jl.failed {
			js.failed[s] = true
		}
	}
	return js, nil
}

// A journalSet is every generation of a ledger's journal, read back.
type journalSet struct {
	gens    []uint64
	intents []journalIntent
	mark    uint64          // intents below it were acknowledged (or failed)
	failed  map[uint64]bool // intents whose append failed
	errs    []error         // records that fail their MAC or seal
}

// acked reports whether the store acknowledged the intent: its lines must
// then be in the store.
func (js *journalSet) acked(in *journalIntent) bool {
	return in.seq < js.mark && !js.failed[in.seq]
}

// leaves returns the leaves of the intents, each with whether it was
// acknowledged.
func (js *journalSet) leaves() (ls []Leaf, acked []bool) {
	for i := range js.intents {
		a := js.acked(&js.intents[i])
		for _, lf := range js.intents[i].leaves {
			ls = append(ls, lf)
			acked = append(acked, a)
		}
	}
	return ls, acked
}
