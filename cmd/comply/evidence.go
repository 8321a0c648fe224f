package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/evidence"
	"github.com/complyhq/comply/report"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
)

// defaultSample is the number of entries an evidence pack samples.
const defaultSample = 25

func cmdEvidence(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("evidence", "(--period P | --start T --end T) --out FILE [--sample N] [--seed S] [--report FILE] [--report-html FILE] [--signing-key FILE]", `
Write the evidence pack of a period: one zip an auditor checks offline
with only the pack and the verifier key ('comply verify-pack'). It holds
the compliance report of the period (JSON and HTML, every framework; or
the one --report names), the period's signed checkpoints, a consistency
proof from the first to the last, the report's sample of the period's
entries each with its inclusion proof, the period's signed rewrite,
erasure and policy records, the verifier key, and a manifest of every
file's SHA-256 signed with the writer's key. The store is only read.
The same store and period give the same pack, byte for byte: the report is
as of the checkpoint that covers the period's end (--generated sets
another time).

  comply evidence --period 2026-Q3 --out q3.zip --signing-key audit.signer
  comply evidence --start 2026-11-01 --end 2026-11-30 --out nov.zip --sample 50 --seed 7`)
	c.storeFlag(fs)
	keyFile := c.signingKeyFlag(fs)
	period := fs.String("period", "", "the period: a year `P` (2026), a quarter (2026-Q3), a month (2026-11) or a day (2026-11-30), UTC")
	start := fs.String("start", "", "the period's first instant `T` (RFC 3339 or a date)")
	end := fs.String("end", "", "the period's last instant `T` (a date is its last instant)")
	out := fs.String("out", "", "write the pack to `FILE` (mode 600)")
	sample := fs.Int("sample", defaultSample, "sample `N` entries of the period, each with its inclusion proof")
	seed := fs.Uint64("seed", 1, "the sample's seed `S` (the same seed, the same sample)")
	reportJSON := fs.String("report", "", "put the report JSON in `FILE` into the pack instead of building one")
	reportHTML := fs.String("report-html", "", "with --report, put the report HTML in `FILE` into the pack")
	generated := fs.String("generated", "", "the built report's time `T` (RFC 3339 or a date); default: the time of the checkpoint that covers the period's end, so that the same store gives the same pack")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("evidence takes no arguments")
	}
	if *out == "" {
		return usagef("evidence needs --out FILE")
	}
	if *sample < 0 {
		return usagef("--sample must not be negative")
	}
	opts := &evidence.Options{Period: *period, SampleSize: *sample, SampleSeed: *seed}
	if opts.Start, opts.End, err = packPeriod(*period, *start, *end); err != nil {
		return err
	}
	if opts.Signer, err = loadSigner(*keyFile); err != nil {
		return err
	}
	if opts.Signer == nil {
		return &usageError{msg: "evidence needs the signing key to sign the manifest: pass --signing-key FILE or set " + envSigningKey,
			hint: "the key of the log's writer: its verifier checks the checkpoints and the manifest alike"}
	}
	for _, f := range []struct {
		name string
		dst  *[]byte
	}{{*reportJSON, &opts.ReportJSON}, {*reportHTML, &opts.ReportHTML}} {
		if f.name == "" {
			continue
		}
		if *f.dst, err = os.ReadFile(f.name); err != nil {
			return err
		}
	}
	st, err := openLedgerStore(ctx, c.store)
	if err != nil {
		return err
	}
	defer st.Close()
	var at time.Time
	if *generated != "" {
		if at, err = parseTime(*generated, false); err != nil {
			return usagef("--generated: %v", err)
		}
	}
	if opts.ReportJSON == nil {
		if err := packReport(ctx, st, opts, at); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	if err := evidence.Build(ctx, st, &b, opts); err != nil {
		return err
	}
	if err := writeFileAtomic(*out, b.Bytes()); err != nil {
		return err
	}
	res, err := evidence.Verify(b.Bytes(), opts.Signer.Verifier())
	if err != nil {
		return fmt.Errorf("the pack written does not verify: %w", err)
	}
	_, err = fmt.Fprintf(c.stdout, "wrote %s: %d checkpoints of %s, %d sampled entries (seed %d), %d files, %d bytes\n",
		*out, res.Checkpoints, strings.Join(res.Origins, ", "), res.Entries, *seed, len(res.Manifest.Files)+2, b.Len())
	return err
}

// packReport builds the report of the pack's period (every framework, the
// pack's sample size and seed) into opts: its JSON and HTML, and its
// sample as the pack's sampled entries. Its time is at, or if zero the
// time of the checkpoint that covers the period's end.
func packReport(ctx context.Context, st store.SidecarStore, opts *evidence.Options, at time.Time) error {
	l, err := comply.New(nopCloser{st}, nil)
	if err != nil {
		return err
	}
	defer l.Close()
	in := report.Inputs{
		Logger: l, Verifiers: []note.Verifier{opts.Signer.Verifier()},
		Period:     report.Period{Label: opts.Period, Start: opts.Start, End: opts.End},
		SampleSize: opts.SampleSize, Seed: opts.SampleSeed,
		AtCheckpoint: at.IsZero(),
	}
	if !at.IsZero() {
		in.Now = func() time.Time { return at }
	}
	r, err := report.Build(ctx, in)
	if err != nil {
		return err
	}
	var j, h bytes.Buffer
	if err := report.WriteJSON(&j, r); err != nil {
		return err
	}
	if err := report.WriteHTML(&h, r); err != nil {
		return err
	}
	opts.ReportJSON, opts.ReportHTML = j.Bytes(), h.Bytes()
	opts.IDs = []string{}
	for _, it := range r.Sample.Items {
		opts.IDs = append(opts.IDs, it.ID)
	}
	return nil
}

// nopCloser is a store whose Close does nothing: the Logger of the report
// reads a store the command closes itself.
type nopCloser struct{ store.SidecarStore }

func (nopCloser) Close() error { return nil }

// writeFileAtomic writes b to name (mode 600) through a temporary file in
// the same directory, so that a reader never sees half a pack.
func writeFileAtomic(name string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), name)
}

// packPeriod returns the inclusive bounds of --period, or of --start and
// --end.
func packPeriod(period, start, end string) (time.Time, time.Time, error) {
	if period == "" {
		if start == "" || end == "" {
			return time.Time{}, time.Time{}, usagef("pass --period P, or --start T and --end T")
		}
		s, err := parseTime(start, false)
		if err != nil {
			return time.Time{}, time.Time{}, usagef("--start: %v", err)
		}
		e, err := parseTime(end, true)
		if err != nil {
			return time.Time{}, time.Time{}, usagef("--end: %v", err)
		}
		if e.Before(s) {
			return time.Time{}, time.Time{}, usagef("--end is before --start")
		}
		return s, e, nil
	}
	if start != "" || end != "" {
		return time.Time{}, time.Time{}, usagef("pass --period, or --start and --end, not both")
	}
	bad := usagef("--period %q: want a year (2026), a quarter (2026-Q3), a month (2026-11) or a day (2026-11-30)", period)
	var s time.Time
	var next func(time.Time) time.Time
	switch y, q, ok := strings.Cut(period, "-Q"); {
	case ok:
		year, err1 := strconv.Atoi(y)
		n, err2 := strconv.Atoi(q)
		if err1 != nil || err2 != nil || len(y) != 4 || n < 1 || n > 4 {
			return time.Time{}, time.Time{}, bad
		}
		s = time.Date(year, time.Month(3*n-2), 1, 0, 0, 0, 0, time.UTC)
		next = func(t time.Time) time.Time { return t.AddDate(0, 3, 0) }
	case len(period) == 4:
		year, err := strconv.Atoi(period)
		if err != nil {
			return time.Time{}, time.Time{}, bad
		}
		s = time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC)
		next = func(t time.Time) time.Time { return t.AddDate(1, 0, 0) }
	case len(period) == 7:
		t, err := time.Parse("2006-01", period)
		if err != nil {
			return time.Time{}, time.Time{}, bad
		}
		s, next = t, func(t time.Time) time.Time { return t.AddDate(0, 1, 0) }
	case len(period) == 10:
		t, err := time.Parse("2006-01-02", period)
		if err != nil {
			return time.Time{}, time.Time{}, bad
		}
		s, next = t, func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
	default:
		return time.Time{}, time.Time{}, bad
	}
	return s, next(s).Add(-time.Nanosecond), nil
}

func cmdVerifyPack(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("verify-pack", "FILE --verifier-key FILE", `
Check an evidence pack written by 'comply evidence', offline, with only the
pack and the verifier key of the log's writer: the manifest's signature,
every file's SHA-256, no file outside the manifest, every checkpoint's
signature, the consistency proof from the first checkpoint to the last,
every sampled entry's inclusion proof (through its rewrite records, for a
rewrapped entry), and the signature of every rewrite, erasure and policy
record. Exit status 3 on any change.

  comply verify-pack q3.zip --verifier-key audit.verifier`)
	var vkeys stringList
	fs.Var(&vkeys, "verifier-key", "read the verifier key from `FILE` (env "+envVerifierKey+")")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("verify-pack takes one argument: the pack file")
	}
	vs, err := loadVerifiers(vkeys)
	if err != nil {
		return err
	}
	if len(vs) != 1 {
		return usagef("verify-pack takes one verifier key: the writer's")
	}
	b, err := os.ReadFile(rest[0])
	if err != nil {
		return err
	}
	res, err := evidence.Verify(b, vs[0])
	if err != nil {
		fmt.Fprintf(c.stderr, "comply: error: the pack does not verify: %v\n", err)
		if errors.Is(err, evidence.ErrSignature) || errors.Is(err, evidence.ErrKey) {
			fmt.Fprintln(c.stderr, "comply: hint: pass the verifier key of the log's writer with --verifier-key")
		}
		return &statusError{code: exitTampered}
	}
	m := res.Manifest
	what := m.Period
	if what == "" {
		what = m.Start.Format(time.RFC3339) + " to " + m.End.Format(time.RFC3339)
	}
	_, err = fmt.Fprintf(c.stdout, "valid: evidence pack of %s: %d files, %d checkpoints of %s consistent from first to last, %d sampled entries proved (seed %d), %d signed records (rewrites, erasures, policies) checked, report included: %t\n",
		what, len(m.Files)+2, res.Checkpoints, strings.Join(res.Origins, ", "), res.Entries, m.Sample.Seed, res.Records, res.Report)
	return err
}

func cmdAttest(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("attest", "--report FILE --reviewer NAME [--note TEXT] [--signing-key FILE]", `
Record that a reviewer reviewed a report: an entry of the log (provider
"comply", model "attestation") whose metadata holds the report's SHA-256,
its period, the reviewer and the note, signed through the ledger like any
entry, so the next report lists it (HIPAA 164.308 and SOC 2 ask for proof
of review). Prints the entry's id.

  comply attest --report q3.json --reviewer "Dana Reyes" --note "reviewed; gap of 2026-08-02 was maintenance" --signing-key audit.signer`)
	c.storeFlag(fs)
	keyFile := c.signingKeyFlag(fs)
	reportFile := fs.String("report", "", "the report JSON `FILE` reviewed")
	reviewer := fs.String("reviewer", "", "who reviewed it, `NAME`")
	noteText := fs.String("note", "", "what the reviewer says, `TEXT`")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("attest takes no arguments")
	}
	if *reportFile == "" || strings.TrimSpace(*reviewer) == "" {
		return usagef("attest needs --report FILE and --reviewer NAME")
	}
	b, err := os.ReadFile(*reportFile)
	if err != nil {
		return err
	}
	a, err := evidence.NewAttestation(b, *reviewer, *noteText)
	if err != nil {
		return err
	}
	signer, err := loadSigner(*keyFile)
	if err != nil {
		return err
	}
	if signer == nil {
		return &usageError{msg: "attest needs the signing key: an attestation is a signed entry; pass --signing-key FILE or set " + envSigningKey}
	}
	l, err := c.openWriter(ctx, filestore.Always, nil, *keyFile)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := l.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing store: %w", cerr)
		}
	}()
	id, err := evidence.Attest(ctx, l, a)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", id)
	return err
}
