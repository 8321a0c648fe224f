package export

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"os"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/store"
)

// DefaultSettle is how old an entry must be before an export takes it
// when Options.Settle is zero (see Options.Settle).
const DefaultSettle = time.Minute

// Defaults of Options.RowGroupRows and Options.FileRows.
const (
	DefaultRowGroupRows = 64 << 10
	DefaultFileRows     = 1 << 20
)

// Options configure an export. The zero value means the documented
// defaults.
type Options struct {
	// Start and End bound the entries' timestamps, both inclusive; a
	// zero bound is unbounded. Entries at or before a writer's watermark
	// are never exported again, whatever Start says.
	Start, End time.Time

	// Settle is how old an entry must be to be exported: an export takes
	// the entries stamped up to Now minus Settle (or End, if earlier), so
	// that an entry stamped just before another but stored just after it
	// (concurrent writers, an S3 writer's buffer) is never left behind
	// the watermark. Zero means DefaultSettle; a negative value, none.
	Settle time.Duration

	// Promote lists metadata keys exported as columns of their own
	// (optional strings), after the fixed ones. Every export to one
	// output must promote the same keys.
	Promote []string

	// Writer is the writer id of the entries whose store does not say
	// which writer wrote them (a store that is not a store.Shared). ""
	// means the Logger's ledger origin, if it has a ledger, else "".
	Writer string

	// RowGroupRows and FileRows bound the rows of a row group and of a
	// file; zero means DefaultRowGroupRows and DefaultFileRows. A writer's
	// rows are held in memory one row group at a time.
	RowGroupRows, FileRows int

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// S3Client, if set, is the client of an s3:// output; the URL's
	// region and endpoint are then ignored. By default one is built from
	// the standard AWS credential chain.
	S3Client *s3.Client
}

// A Result is what an export wrote.
type Result struct {
	Entries int64    // entries exported
	Skipped int64    // entries in range already exported by an earlier run
	Corrupt int64    // damaged lines, not exported (comply query names them)
	Files   []string // the files written, relative to the output, with "/"
	Bytes   int64    // their total size
	Through time.Time
}

// Parquet exports the entries of l to out, a folder or an S3 prefix
// (s3://BUCKET/PREFIX[?region=R&endpoint=URL], credentials from the
// standard AWS chain), as Hive-partitioned Parquet files, dt=YYYY-MM-DD/part-WRITER-SEQ-N.parquet, in the schema of
// SchemaVersion (docs/format.md section 7), zstd-compressed. It exports
// only what no earlier run to out exported, per writer, by the watermark
// kept in out/_comply_export; content fields are exported as stored,
// encrypted, never decrypted.
//
// A run is crash-safe: each file is written under a temporary name,
// fsynced and renamed (on S3: stored with one PUT, which is atomic), and
// the watermark is replaced only once every file is durable. A run that stopped before then is redone by the next one
// under the same file names, and any file of the stopped run that the
// redo does not write again is removed, so no entry is exported twice.
// Runs to one output must not overlap.
func Parquet(ctx context.Context, l *comply.Logger, out string, opts *Options) (Result, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := checkPromote(o.Promote); err != nil {
		return Result{}, fmt.Errorf("export: %w", err)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	switch {
	case o.Settle == 0:
		o.Settle = DefaultSettle
	case o.Settle < 0:
		o.Settle = 0
	}
	if o.RowGroupRows <= 0 {
		o.RowGroupRows = DefaultRowGroupRows
	}
	if o.FileRows <= 0 {
		o.FileRows = DefaultFileRows
	}
	if o.Writer == "" && l.Ledger() != nil {
		o.Writer = l.Ledger().Origin()
	}
	var dst sink
	var err error
	if strings.HasPrefix(out, "s3://") {
		dst, err = newS3Sink(ctx, out, o.S3Client)
	} else {
		dst, err = newDirSink(out)
	}
	if err != nil {
		return Result{}, fmt.Errorf("export: %w", err)
	}
	wm, err := readWatermark(ctx, dst)
	if err != nil {
		return Result{}, fmt.Errorf("export: %w", err)
	}
	if !wm.samePromote(o.Promote) {
		return Result{}, fmt.Errorf("export: %s promotes %q, not %q: export to a new location to change the columns", dst, wm.Promote, o.Promote)
	}
	through := o.Now().UTC().Add(-o.Settle).Truncate(time.Microsecond)
	if !o.End.IsZero() && o.End.Before(through) {
		through = o.End.UTC()
	}
	start := o.Start
	if len(wm.Writers) > 0 {
		// Entries at or before every writer's mark are exported already:
		// the scan starts at the earliest mark (inclusive: another entry
		// may share its timestamp).
		earliest := time.Time{}
		for _, m := range wm.Writers {
			if earliest.IsZero() || m.Timestamp.Before(earliest) {
				earliest = m.Timestamp
			}
		}
		if earliest.After(start) {
			start = earliest
		}
	}
	x := &run{
		ctx:    ctx,
		out:    dst,
		sem:    make(chan struct{}, max(runtime.GOMAXPROCS(0), 1)),
		opts:   &o,
		wm:     wm,
		schema: newSchema(o.Promote),
		free:   make(chan *batch, 64),
		parts:  map[partKey]*part{},
		seqs:   map[string]int{},
		marks:  map[string]*Mark{},
		wrote:  map[string]bool{},
		res:    Result{Through: through},
	}
	x.rb.promote = o.Promote
	if start.After(through) {
		return x.res, nil
	}
	if err := x.export(ctx, l, start, through); err != nil {
		x.abort()
		return x.res, fmt.Errorf("export: %w", err)
	}
	return x.res, nil
}

// partKey names the file a run is writing for one writer and one day.
type partKey struct {
	writer string
	day    string // YYYY-MM-DD
}

// A part is one Parquet file being written. Its rows go in small batches
// to the goroutine of the row group being filled; row groups are encoded
// and compressed on goroutines of their own, several at once, and
// committed to the file in order by the part's committer goroutine.
type part struct {
	key   partKey
	f     *os.File
	buf   *bufio.Writer
	w     *parquet.Writer
	rel   string // the name, relative to the output, with "/"
	rows  int    // rows added
	n     int    // the file's number among the writer's files of the day in this run
	batch *batch // the rows being gathered
	cur   *rgJob // the row group being filled
	jobs  chan *rgJob
	done  chan struct{} // closed when the committer is done
	err   error         // the committer's error, once done is closed
	size  int64         // the file's size, once done is closed
}

// A batch is a few rows on their way to a row group. Its rows are reused.
type batch struct {
	rows []parquet.Row
	n    int
}

// batchRows is the rows of a batch.
const batchRows = 512

// An rgJob is one row group being encoded.
type rgJob struct {
	rg   *parquet.ConcurrentRowGroupWriter
	in   chan *batch
	rows int // rows sent
	done chan struct{}
	err  error
}

// run is the state of one export.
type run struct {
	ctx     context.Context
	out     sink
	opts    *Options
	wm      *Watermark
	schema  *parquet.Schema
	rb      rowBuilder
	sem     chan struct{} // bounds the row groups encoding at once
	free    chan *batch   // batches to reuse
	parts   map[partKey]*part
	started []*part // every part of the run, in order
	nextN   map[partKey]int
	seqs    map[string]int   // writer: this run's sequence number
	marks   map[string]*Mark // writer: the mark after this run
	wrote   map[string]bool  // rel: written by this run
	res     Result
}

// An item is one entry to export and its writer.
type item struct {
	e      comply.Entry
	writer string
}

// entries streams the entries within [start, end] with their writers.
func (x *run) entries(ctx context.Context, l *comply.Logger, start, end time.Time) iter.Seq2[item, error] {
	sh, shared := l.Store().(store.Shared)
	if !shared {
		return func(yield func(item, error) bool) {
			for e, err := range l.Entries(ctx, start, end) {
				if !yield(item{e: e, writer: x.opts.Writer}, err) {
					return
				}
			}
		}
	}
	// A store of several writers says which wrote each record: read the
	// records and decode them here, as Logger.Entries would.
	return func(yield func(item, error) bool) {
		for rec, err := range l.Store().Scan(ctx, store.Query{Start: start, End: end}) {
			if err != nil {
				if !yield(item{}, err) {
					return
				}
				continue
			}
			var e line.Entry
			if err := line.Decode(rec.Line, &e); err != nil {
				if !yield(item{}, &store.CorruptionError{Path: rec.Path, Offset: rec.Offset, Err: err}) {
					return
				}
				continue
			}
			w, ok := sh.RecordWriter(rec)
			if !ok {
				w = x.opts.Writer
			}
			if !yield(item{e: comply.Entry(e), writer: w}, nil) {
				return
			}
		}
	}
}

func (x *run) export(ctx context.Context, l *comply.Logger, start, end time.Time) error {
	x.nextN = map[partKey]int{}
	var lastDay string
	for it, err := range x.entries(ctx, l, start, end) {
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			var ce *store.CorruptionError
			if !errors.As(err, &ce) {
				return err
			}
			x.res.Corrupt++
			continue
		}
		e := &it.e
		mark := x.wm.Writers[it.writer]
		if !mark.after(e.Timestamp, e.ID) || (!x.opts.Start.IsZero() && e.Timestamp.Before(x.opts.Start)) {
			x.res.Skipped++
			continue
		}
		day := e.Timestamp.UTC().Format(time.DateOnly)
		if day != lastDay {
			// The store reads days in ascending order: the files of
			// earlier days are complete.
			if err := x.closeBefore(day); err != nil {
				return err
			}
			lastDay = day
		}
		p, err := x.part(partKey{it.writer, day})
		if err != nil {
			return err
		}
		x.add(p, e, it.writer)
		m := x.marks[it.writer]
		if m == nil {
			m = &Mark{}
			if old := x.wm.Writers[it.writer]; old != nil {
				*m = *old
			}
			x.marks[it.writer] = m
		}
		if m.after(e.Timestamp, e.ID) {
			m.Timestamp, m.ID = e.Timestamp.UTC(), e.ID
		}
		m.Entries++
		x.res.Entries++
	}
	if err := x.closeBefore(""); err != nil {
		return err
	}
	if err := x.wait(); err != nil {
		return err
	}
	if err := x.removeStale(ctx); err != nil {
		return err
	}
	if len(x.marks) == 0 {
		return nil
	}
	if crashBeforeWatermark != nil {
		return crashBeforeWatermark()
	}
	for w, m := range x.marks {
		m.Seq = x.seq(w)
		x.wm.Writers[w] = m
	}
	x.wm.Version, x.wm.SchemaVersion = watermarkVersion, SchemaVersion
	x.wm.Promote = slices.Clone(x.opts.Promote)
	if x.wm.Promote == nil {
		x.wm.Promote = []string{}
	}
	return writeWatermark(ctx, x.out, x.wm)
}

// crashBeforeWatermark, set by tests, stops a run once its files are
// durable, before its watermark moves.
var crashBeforeWatermark func() error

// seq returns this run's sequence number for the writer: one more than
// its last committed run, so that a run redone after a crash reuses the
// names of the run it redoes.
func (x *run) seq(writer string) int {
	s, ok := x.seqs[writer]
	if !ok {
		s = 1
		if m := x.wm.Writers[writer]; m != nil {
			s = m.Seq + 1
		}
		x.seqs[writer] = s
	}
	return s
}

// fileWriter returns the writer id as it appears in file names: "local"
// for "", the id itself when it is made of [A-Za-z0-9_.] only, else its
// letters and digits and a hash of it.
func fileWriter(w string) string {
	if w == "" {
		return "local"
	}
	if plainWriter.MatchString(w) {
		return w
	}
	var b strings.Builder
	for _, r := range w {
		if r < 128 && (r == '_' || r == '.' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		}
		if b.Len() >= 32 {
			break
		}
	}
	sum := sha256.Sum256([]byte(w))
	return b.String() + "_" + hex.EncodeToString(sum[:4])
}

var plainWriter = regexp.MustCompile(`^[A-Za-z0-9_.]{1,64}$`)

// partName parses the name of a part file: its file writer, run and
// number.
var partName = regexp.MustCompile(`^part-(.+)-([0-9]{6,})-([0-9]{4,})\.parquet$`)

func (x *run) part(k partKey) (*part, error) {
	if p := x.parts[k]; p != nil {
		if p.rows < x.opts.FileRows {
			return p, nil
		}
		x.finish(p)
	}
	n := x.nextN[k]
	x.nextN[k] = n + 1
	name := fmt.Sprintf("part-%s-%06d-%04d.parquet", fileWriter(k.writer), x.seq(k.writer), n)
	p := &part{
		key:  k,
		n:    n,
		rel:  "dt=" + k.day + "/" + name,
		jobs: make(chan *rgJob, 2),
		done: make(chan struct{}),
	}
	f, err := x.out.create(p.rel)
	if err != nil {
		return nil, err
	}
	p.f = f
	p.buf = bufio.NewWriterSize(f, 1<<20)
	p.w = parquet.NewWriter(p.buf, x.schema,
		parquet.Compression(zstdFast),
		parquet.MaxRowsPerRowGroup(int64(x.opts.RowGroupRows)),
		parquet.CreatedBy("comply", "", ""),
		parquet.KeyValueMetadata("comply.schema_version", strconv.Itoa(SchemaVersion)),
		parquet.KeyValueMetadata("comply.writer_id", k.writer),
	)
	x.parts[k] = p
	x.started = append(x.started, p)
	go x.commit(p)
	return p, nil
}

// zstdFast compresses the columns, but for the hashes and ids, which are
// most of the bytes and compress with zstdStrong (the faster level leaves
// hash-only output a quarter larger, over the size target).
var (
	zstdFast   = newZstdCodec(zstd.SpeedFastest)
	zstdStrong = newZstdCodec(zstd.SpeedDefault)
)

// add appends e's row to p, sending a full batch to the row group.
func (x *run) add(p *part, e *comply.Entry, writer string) {
	b := p.batch
	if b == nil {
		select {
		case b = <-x.free:
		default:
			b = &batch{rows: make([]parquet.Row, batchRows)}
		}
		p.batch = b
	}
	b.rows[b.n] = x.rb.appendRow(b.rows[b.n], e, writer)
	b.n++
	p.rows++
	left := x.opts.RowGroupRows // in the row group
	if p.cur != nil {
		left -= p.cur.rows
	}
	if b.n == min(batchRows, left) || p.rows == x.opts.FileRows {
		x.send(p)
	}
}

// send sends p's batch to the row group being filled, starting one (once
// fewer than GOMAXPROCS are encoding) if none is, and ends the row group
// when it is full.
func (x *run) send(p *part) {
	b := p.batch
	p.batch = nil
	if b == nil {
		return
	}
	if b.n == 0 {
		x.release(b)
		return
	}
	j := p.cur
	if j == nil {
		j = &rgJob{rg: p.w.BeginRowGroup(), in: make(chan *batch, 4), done: make(chan struct{})}
		x.sem <- struct{}{}
		go x.encode(j)
		p.jobs <- j
		p.cur = j
	}
	j.rows += b.n
	j.in <- b
	if j.rows >= x.opts.RowGroupRows {
		close(j.in)
		p.cur = nil
	}
}

// encode writes the batches of j's row group and flushes its pages.
func (x *run) encode(j *rgJob) {
	defer close(j.done)
	defer func() { <-x.sem }()
	for b := range j.in {
		if j.err == nil {
			_, j.err = j.rg.WriteRows(b.rows[:b.n])
		}
		x.release(b)
	}
	if j.err == nil {
		j.err = j.rg.Flush()
	}
}

// release returns a batch for reuse, dropping its references to entries.
func (x *run) release(b *batch) {
	for i := range b.n {
		clear(b.rows[i])
		b.rows[i] = b.rows[i][:0]
	}
	b.n = 0
	select {
	case x.free <- b:
	default:
	}
}

// commit, p's committer, writes p's row groups in order as they are
// encoded, then completes the file and commits it to the output.
func (x *run) commit(p *part) {
	defer close(p.done)
	var err error
	for j := range p.jobs {
		<-j.done
		if err == nil {
			err = j.err
		}
		if err == nil {
			_, err = j.rg.Commit()
		}
	}
	if err == nil {
		err = p.w.Close()
	}
	if err == nil {
		err = p.buf.Flush()
	}
	if err == nil && x.ctx.Err() == nil {
		p.size, err = x.out.commit(x.ctx, p.f, p.rel)
	} else {
		x.out.discard(p.f)
		if err == nil {
			err = x.ctx.Err()
		}
	}
	if err != nil {
		p.err = fmt.Errorf("write %s: %w", p.rel, err)
	}
}

// finish sends p's last rows and lets its committer complete it.
func (x *run) finish(p *part) {
	delete(x.parts, p.key)
	x.send(p)
	if p.cur != nil {
		close(p.cur.in)
		p.cur = nil
	}
	close(p.jobs)
}

// closeBefore finishes the parts of days before day ("" : all of them),
// and returns the first error of a part completed so far.
func (x *run) closeBefore(day string) error {
	for k, p := range x.parts {
		if day == "" || k.day < day {
			x.finish(p)
		}
	}
	for _, p := range x.started {
		select {
		case <-p.done:
			if p.err != nil {
				return p.err
			}
		default:
		}
	}
	return nil
}

// wait waits for every part's committer and records the files written,
// in name order.
func (x *run) wait() error {
	var first error
	for _, p := range x.started {
		<-p.done
		switch {
		case p.err != nil && first == nil:
			first = p.err
		case p.err == nil:
			x.res.Bytes += p.size
			x.wrote[p.rel] = true
			x.res.Files = append(x.res.Files, p.rel)
		}
	}
	slices.Sort(x.res.Files)
	return first
}

// abort stops the parts still open, waits for every committer, and
// removes what the run stored: the watermark does not name this run, so
// a later run would redo it anyway.
func (x *run) abort() {
	for _, p := range x.parts {
		x.finish(p)
	}
	for _, p := range x.started {
		<-p.done
	}
}

// removeStale removes what a stopped run left that this one did not write
// again: its temporary files, and its part files of a run after a
// writer's last committed one (this run redoes it).
func (x *run) removeStale(ctx context.Context) error {
	committed := map[string]int{}
	for w, m := range x.wm.Writers {
		committed[fileWriter(w)] = m.Seq
	}
	rels, err := x.out.list(ctx)
	if err != nil {
		return err
	}
	for _, rel := range rels {
		_, name, _ := strings.Cut(rel, "/")
		stale := false
		if strings.HasPrefix(name, ".part-") && strings.HasSuffix(name, ".tmp") {
			stale = true
		} else if m := partName.FindStringSubmatch(name); m != nil && !x.wrote[rel] {
			seq, _ := strconv.Atoi(m[2])
			stale = seq > committed[m[1]]
		}
		if stale {
			if err := x.out.remove(ctx, rel); err != nil {
				return fmt.Errorf("remove %s: %w", rel, err)
			}
		}
	}
	return nil
}
