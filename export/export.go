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
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/internal/atomicfile"
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

// Parquet exports the entries of l to the folder out as Hive-partitioned
// Parquet files, dt=YYYY-MM-DD/part-WRITER-SEQ-N.parquet, in the schema of
// SchemaVersion (docs/format.md section 7), zstd-compressed. It exports
// only what no earlier run to out exported, per writer, by the watermark
// kept in out/_comply_export; content fields are exported as stored,
// encrypted, never decrypted.
//
// A run is crash-safe: each file is written under a temporary name,
// fsynced and renamed, and the watermark is replaced only once every file
// is durable. A run that stopped before then is redone by the next one
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
	if err := os.MkdirAll(out, 0o700); err != nil {
		return Result{}, fmt.Errorf("export: %w", err)
	}
	wm, err := readWatermark(out)
	if err != nil {
		return Result{}, fmt.Errorf("export: %w", err)
	}
	if !wm.samePromote(o.Promote) {
		return Result{}, fmt.Errorf("export: %s promotes %q, not %q: export to a new location to change the columns", out, wm.Promote, o.Promote)
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
		out:    out,
		opts:   &o,
		wm:     wm,
		schema: newSchema(o.Promote),
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

// A part is one Parquet file being written.
type part struct {
	key        partKey
	f          *os.File
	buf        *bufio.Writer
	w          *parquet.Writer
	tmp, final string // paths
	rel        string // final, relative to the output, with "/"
	rows       int
	n          int // the file's number among the writer's files of the day in this run
	batch      []parquet.Row
	rowsInUse  int
}

// run is the state of one export.
type run struct {
	out    string
	opts   *Options
	wm     *Watermark
	schema *parquet.Schema
	rb     rowBuilder
	parts  map[partKey]*part
	nextN  map[partKey]int
	seqs   map[string]int   // writer: this run's sequence number
	marks  map[string]*Mark // writer: the mark after this run
	wrote  map[string]bool  // rel: written by this run
	res    Result
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
		if err := x.add(p, e, it.writer); err != nil {
			return err
		}
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
	if err := x.removeStale(); err != nil {
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
	return writeWatermark(x.out, x.wm)
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
		if err := x.finish(p); err != nil {
			return nil, err
		}
	}
	n := x.nextN[k]
	x.nextN[k] = n + 1
	dir := filepath.Join(x.out, "dt="+k.day)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	name := fmt.Sprintf("part-%s-%06d-%04d.parquet", fileWriter(k.writer), x.seq(k.writer), n)
	p := &part{
		key:   k,
		n:     n,
		final: filepath.Join(dir, name),
		tmp:   filepath.Join(dir, "."+name+".tmp"),
		rel:   "dt=" + k.day + "/" + name,
	}
	f, err := os.OpenFile(p.tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return nil, err
	}
	p.f = f
	p.buf = bufio.NewWriterSize(f, 1<<20)
	p.w = parquet.NewWriter(p.buf, x.schema,
		parquet.Compression(&zstdCodec),
		parquet.MaxRowsPerRowGroup(int64(x.opts.RowGroupRows)),
		parquet.CreatedBy("comply", "", ""),
		parquet.KeyValueMetadata("comply.schema_version", strconv.Itoa(SchemaVersion)),
		parquet.KeyValueMetadata("comply.writer_id", k.writer),
	)
	x.parts[k] = p
	return p, nil
}

// zstdCodec compresses the columns, but for the hashes, which are most of
// the bytes and compress with zstdHashes.
var (
	zstdCodec  = zstd.Codec{Level: zstd.SpeedFastest}
	zstdHashes = zstd.Codec{Level: zstd.SpeedDefault}
)

const batchRows = 512

// add appends e's row to p, writing a batch of rows when it is full.
func (x *run) add(p *part, e *comply.Entry, writer string) error {
	if p.rowsInUse == len(p.batch) {
		p.batch = append(p.batch, nil)
	}
	p.batch[p.rowsInUse] = x.rb.appendRow(p.batch[p.rowsInUse], e, writer)
	p.rowsInUse++
	p.rows++
	if p.rowsInUse == batchRows {
		return x.flushRows(p)
	}
	return nil
}

func (x *run) flushRows(p *part) error {
	if p.rowsInUse == 0 {
		return nil
	}
	if _, err := p.w.WriteRows(p.batch[:p.rowsInUse]); err != nil {
		return fmt.Errorf("write %s: %w", p.rel, err)
	}
	// The rows point into entries that are gone once the batch is
	// written: drop the references, keep the slices.
	for i := range p.rowsInUse {
		clear(p.batch[i])
		p.batch[i] = p.batch[i][:0]
	}
	p.rowsInUse = 0
	return nil
}

// finish completes p durably under its final name.
func (x *run) finish(p *part) error {
	delete(x.parts, p.key)
	err := x.flushRows(p)
	if err == nil {
		err = p.w.Close()
	}
	if err == nil {
		err = p.buf.Flush()
	}
	if err == nil {
		err = p.f.Sync()
	}
	if cerr := p.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.tmp, p.final)
	}
	if err == nil {
		err = atomicfile.SyncDir(filepath.Dir(p.final))
	}
	if err != nil {
		os.Remove(p.tmp)
		return fmt.Errorf("write %s: %w", p.rel, err)
	}
	if fi, err := os.Stat(p.final); err == nil {
		x.res.Bytes += fi.Size()
	}
	x.wrote[p.rel] = true
	x.res.Files = append(x.res.Files, p.rel)
	return nil
}

// closeBefore finishes the parts of days before day ("" : all of them).
func (x *run) closeBefore(day string) error {
	var done []*part
	for k, p := range x.parts {
		if day == "" || k.day < day {
			done = append(done, p)
		}
	}
	slices.SortFunc(done, func(a, b *part) int { return strings.Compare(a.rel, b.rel) })
	for _, p := range done {
		if err := x.finish(p); err != nil {
			return err
		}
	}
	return nil
}

// abort removes the temporary files of the parts still open.
func (x *run) abort() {
	for _, p := range x.parts {
		p.f.Close()
		os.Remove(p.tmp)
	}
	clear(x.parts)
}

// removeStale removes what a stopped run left that this one did not write
// again: its temporary files, and its part files of a run after a
// writer's last committed one (this run redoes it).
func (x *run) removeStale() error {
	committed := map[string]int{}
	for w, m := range x.wm.Writers {
		committed[fileWriter(w)] = m.Seq
	}
	days, err := filepath.Glob(filepath.Join(x.out, "dt=*"))
	if err != nil {
		return err
	}
	for _, dir := range days {
		des, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("list %s: %w", dir, err)
		}
		for _, de := range des {
			name := de.Name()
			rel := filepath.Base(dir) + "/" + name
			stale := false
			if strings.HasPrefix(name, ".part-") && strings.HasSuffix(name, ".tmp") {
				stale = true
			} else if m := partName.FindStringSubmatch(name); m != nil && !x.wrote[rel] {
				seq, _ := strconv.Atoi(m[2])
				stale = seq > committed[m[1]]
			}
			if stale {
				if err := os.Remove(filepath.Join(dir, name)); err != nil {
					return fmt.Errorf("remove %s: %w", rel, err)
				}
			}
		}
	}
	return nil
}
