package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/complyhq/comply/internal/atomicfile"
	"github.com/complyhq/comply/internal/keyfile"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
)

// exitTampered is the exit status of verify and verify-proof when the log
// or the proof does not verify: something changed, or cannot be trusted.
const exitTampered = 3

// Environment variables of the integrity commands. Each holds a key, or
// the name of a file that holds one.
const (
	envSigningKey  = "COMPLY_SIGNING_KEY"
	envVerifierKey = "COMPLY_VERIFIER_KEY"
)

// maxProblemsShown bounds the problems verify prints; --json lists all.
const maxProblemsShown = 100

func cmdVerify(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("verify", "[--verifier-key FILE]... [--trusted FILE] [--start T] [--end T] [--json]", `
Check the audit log against its ledger: every checkpoint's signature, the
leaf hashes kept beside the files against every signed root, and every
line of every file against the leaf signed for it. Report per file and per
entry what changed, in plain words: modified, missing, inserted,
reordered, truncated, file deleted, bad signature, unknown key, rolled
back. Entries removed by retention or 'delete' are "deleted by policy"; a
signed record says so. Stretches without checkpoints longer than the
writer's heartbeat (the writer was down) are listed as gaps.

The verifier key (from 'comply keygen --signing') is all verify needs; it
runs offline on a copy of the directory. After a successful run, verify
keeps the newest checkpoint of each log as trusted (--trusted FILE, or, per
store, one file per log under the user's config directory, comply/trusted/,
with the list of every log seen there), and the next run checks that the
log still contains it: a directory rolled back to an older copy, rewritten
and re-signed, or a log that vanished with all its entries, is caught.

With --start or --end, verify checks the lines of that time range only
(the checkpoints, leaf hashes and history are still checked whole): it
reads only the files of the range, and a signed entry stamped outside it
is not missing when absent. The summary says "entries of ... only".

Exit status 3 if anything does not verify.

  comply verify --verifier-key prod.verifier
  comply verify --verifier-key prod.verifier --start 2026-07-01 --end 2026-09-30`)
	c.storeFlag(fs)
	var vkeys stringList
	fs.Var(&vkeys, "verifier-key", "read a verifier key from `FILE` (repeatable, for rotated keys; env "+envVerifierKey+")")
	trustedFile := fs.String("trusted", "", "keep the trusted checkpoints in `FILE` (default: one file per log under the user config directory)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	start := fs.String("start", "", "check only the entries stamped at or after `T` (RFC 3339 or YYYY-MM-DD)")
	end := fs.String("end", "", "check only the entries stamped at or before `T` (RFC 3339 or YYYY-MM-DD, the whole day)")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("verify takes no arguments")
	}
	opts := &ledger.VerifyOptions{}
	if opts.Start, opts.End, err = verifyScope(*start, *end); err != nil {
		return err
	}
	vs, err := loadVerifiers(vkeys)
	if err != nil {
		return err
	}
	st, err := openLedgerStore(ctx, c.store)
	if err != nil {
		return err
	}
	defer st.Close()
	trusted, save, err := c.loadTrusted(ctx, st, *trustedFile)
	if err != nil {
		return err
	}
	opts.Verifiers, opts.Trusted = vs, trusted
	if _, ok := st.(*filestore.Store); ok {
		// A deleted day's file is named as the file store names it.
		opts.FileName = func(d time.Time) string { return "audit_" + d.Format("20060102") + ".jsonl" }
	}
	if bar := c.verifyProgress(ctx, st, !opts.Start.IsZero() || !opts.End.IsZero()); bar != nil {
		defer bar.Finish()
		opts.Progress = func(n int64) { bar.Set64(n) }
	}
	r, err := ledger.Verify(ctx, st, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		err = writeReportJSON(c.stdout, r)
	} else {
		err = writeReport(c.stdout, r)
	}
	if err != nil {
		return err
	}
	if !r.OK() {
		n := len(r.Problems) + int(r.Omitted)
		fmt.Fprintf(c.stderr, "comply: error: the audit log does not verify: %d %s\n", n, plural(n, "problem", "problems"))
		if r.Has(ledger.UnknownKey) {
			fmt.Fprintln(c.stderr, "comply: hint: if the writer's key was rotated, pass every verifier key with --verifier-key")
		}
		if r.Has(ledger.Inserted) || r.Has(ledger.Unsealed) {
			fmt.Fprintln(c.stderr, "comply: hint: entries the Python library wrote are signed once 'comply seal' adopts them")
		}
		return &statusError{code: exitTampered}
	}
	if err := save(r.Trusted); err != nil {
		fmt.Fprintf(c.stderr, "comply: warning: cannot keep the trusted checkpoint: %v\n", err)
	}
	return nil
}

// verifyScope returns the bounds of verify's --start and --end, zero
// where not given.
func verifyScope(start, end string) (s, e time.Time, err error) {
	if start != "" {
		if s, err = parseTime(start, false); err != nil {
			return s, e, usagef("--start: %v", err)
		}
	}
	if end != "" {
		if e, err = parseTime(end, true); err != nil {
			return s, e, usagef("--end: %v", err)
		}
	}
	if !s.IsZero() && !e.IsZero() && e.Before(s) {
		return s, e, usagef("--end is before --start")
	}
	return s, e, nil
}

// loadVerifiers reads the verifier keys from the files, or from
// COMPLY_VERIFIER_KEY (a key, or a file name; several separated by
// commas).
func loadVerifiers(files []string) ([]note.Verifier, error) {
	if len(files) == 0 {
		env := strings.TrimSpace(os.Getenv(envVerifierKey))
		if env == "" {
			return nil, &usageError{msg: "no verifier key: pass --verifier-key FILE or set " + envVerifierKey,
				hint: "'comply keygen --signing --out NAME' writes NAME.verifier beside the writer's NAME.signer"}
		}
		for _, k := range strings.Split(env, ",") {
			files = append(files, strings.TrimSpace(k))
		}
	}
	var vs []note.Verifier
	for _, f := range files {
		if v, err := ledger.NewVerifier(f); err == nil && strings.Count(f, "+") >= 2 {
			vs = append(vs, v)
			continue
		}
		v, err := ledger.LoadVerifier(f)
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
	}
	return vs, nil
}

// loadTrusted returns the trusted checkpoints and a function that saves
// new ones: from file if given, else one file per origin of the store
// under the user's config directory.
func (c *cli) loadTrusted(ctx context.Context, sc store.Sidecar, file string) (map[string][]byte, func(map[string][]byte) error, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("reading trusted checkpoints: %w", err)
		}
		m, err := ledger.ParseTrusted(b)
		if err != nil {
			return nil, nil, withHint(fmt.Errorf("%s: %w", file, err), "the file holds the checkpoints of an earlier 'comply verify'; remove it to start trusting afresh")
		}
		return m, func(m map[string][]byte) error { return atomicfile.Write(file, ledger.FormatTrusted(m)) }, nil
	}
	base, derr := trustedDir()
	origins, err := ledger.Origins(ctx, sc)
	if err != nil {
		return nil, nil, err
	}
	dir := filepath.Join(base, trustedStoreKey(c.store))
	inStore := map[string]bool{}
	for _, o := range origins {
		inStore[o] = true
	}
	// Every origin verify trusted before in this store: one that vanished
	// since (its ledger and entries deleted) is reported.
	var seen []string
	if derr == nil {
		b, err := os.ReadFile(filepath.Join(dir, trustedOrigins))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, nil, fmt.Errorf("reading trusted checkpoints: %w", err)
		}
		for _, o := range strings.Split(string(b), "\n") {
			if o != "" && !inStore[o] {
				seen = append(seen, o)
			}
		}
	}
	m := map[string][]byte{}
	if derr == nil {
		for _, o := range append(origins, seen...) {
			path := filepath.Join(dir, ledger.Slug(o))
			b, err := os.ReadFile(path)
			if errors.Is(err, fs.ErrNotExist) && inStore[o] {
				// Kept by an earlier version, one file per origin for
				// every store.
				path = filepath.Join(base, ledger.Slug(o))
				b, err = os.ReadFile(path)
			}
			if errors.Is(err, fs.ErrNotExist) {
				if !inStore[o] {
					return nil, nil, withHint(fmt.Errorf("the trusted checkpoint of ledger %s, which verify trusted before in this store, is missing: %w", o, err),
						"remove "+filepath.Join(dir, trustedOrigins)+" to start trusting afresh")
				}
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("reading trusted checkpoints: %w", err)
			}
			t, err := ledger.ParseTrusted(b)
			if err != nil {
				return nil, nil, withHint(fmt.Errorf("%s: %w", path, err), "remove it to start trusting afresh")
			}
			if n, ok := t[o]; ok {
				m[o] = n
			}
		}
	}
	save := func(m map[string][]byte) error {
		if derr != nil {
			return derr
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
		all := slices.Clone(seen)
		for o, n := range m {
			if err := atomicfile.Write(filepath.Join(dir, ledger.Slug(o)), n); err != nil {
				return err
			}
			all = append(all, o)
		}
		slices.Sort(all)
		all = slices.Compact(all)
		var b strings.Builder
		for _, o := range all {
			b.WriteString(o + "\n")
		}
		return atomicfile.Write(filepath.Join(dir, trustedOrigins), []byte(b.String()))
	}
	return m, save, nil
}

// trustedOrigins names the file, in a store's trusted directory, that
// lists every origin verify has trusted in that store, one a line.
const trustedOrigins = "origins"

// trustedStoreKey names the directory under trustedDir that keeps a
// store's trusted state: "store-" and 16 hex digits of SHA-256 of what
// identifies the store (a directory's absolute path; an S3 URL's bucket,
// prefix and endpoint, without the rest of its query).
func trustedStoreKey(spec string) string {
	id := spec
	if scheme, ok := urlScheme(spec); ok {
		if u, err := url.Parse(spec); err == nil {
			switch scheme {
			case "file":
				id = u.Path
			case "s3":
				id = "s3://" + u.Host + "/" + strings.Trim(u.Path, "/") + "\n" + u.Query().Get("endpoint")
			}
		}
	}
	if !strings.HasPrefix(id, "s3://") {
		if abs, err := filepath.Abs(id); err == nil {
			id = abs
		}
	}
	h := sha256.Sum256([]byte(id))
	return "store-" + hex.EncodeToString(h[:8])
}

// trustedDir is where verify keeps trusted checkpoints by default.
func trustedDir() (string, error) {
	d, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "comply", "trusted"), nil
}

// verifyProgress returns a progress bar of the entries read, on stderr,
// or nil when stderr is not a terminal. A scoped verify reads an unknown
// part of the store: its bar shows no total.
func (c *cli) verifyProgress(ctx context.Context, st store.Store, scoped bool) *progressbar.ProgressBar {
	if !isTerminal(c.stderr) {
		return nil
	}
	total := int64(-1)
	if !scoped {
		if n, err := st.Count(ctx); err == nil && n > 0 {
			total = n
		}
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(c.stderr),
		progressbar.OptionSetDescription("verifying"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetItsString("entries"),
		progressbar.OptionShowIts(),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(false),
	)
}

// writeReport prints a verify report for people: the logs, the files and
// their status, the problems, the gaps, then the summary line.
func writeReport(w io.Writer, r *ledger.Report) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, lg := range r.Logs {
		status := "valid"
		if !lg.Valid {
			status = "INVALID"
		}
		closed := ""
		if lg.Closed {
			closed = ", closed"
		}
		fmt.Fprintf(tw, "ledger %s\t%d %s signed\tlast checkpoint %s%s\tkey %s\t%s\n", lg.Origin, lg.Size, plural(int(lg.Size), "entry", "entries"),
			lg.Time.UTC().Format("2006-01-02 15:04:05 UTC"), closed, orNone(lg.Key), status)
	}
	for _, f := range r.Files {
		fmt.Fprintf(tw, "%s\t%d %s\t%s\n", f.Name, f.Entries, plural(int(f.Entries), "entry", "entries"), f.Status(r))
	}
	tw.Flush()
	if len(r.Problems) > 0 {
		b.WriteString("\nProblems:\n")
		for i := range min(len(r.Problems), maxProblemsShown) {
			fmt.Fprintf(&b, "  %s\n", r.Problems[i].String())
		}
		if n := len(r.Problems) - maxProblemsShown; n > 0 {
			fmt.Fprintf(&b, "  ... and %d more (--json lists them)\n", n)
		}
		if r.Omitted > 0 {
			fmt.Fprintf(&b, "  ... and %d more, not listed\n", r.Omitted)
		}
	}
	if len(r.Gaps) > 0 {
		b.WriteString("\nGaps (the writer was not running):\n")
		for i := range r.Gaps {
			fmt.Fprintf(&b, "  %s\n", r.Gaps[i].String())
		}
	}
	if r.Backfilled > 0 {
		fmt.Fprintf(&b, "\n%d of the valid %s backfilled: written well after %s timestamp, as signed backfill records say\n",
			r.Backfilled, plural(int(r.Backfilled), "entry was", "entries were"), plural(int(r.Backfilled), "its", "their"))
	}
	for i := range r.Rewrites {
		fmt.Fprintf(&b, "\n%s", r.Rewrites[i].String())
		if i == len(r.Rewrites)-1 {
			b.WriteString("\n")
		}
	}
	b.WriteString("\n" + r.Summary() + "\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func orNone(s string) string {
	if s == "" {
		return "(none trusted)"
	}
	return s
}

func writeReportJSON(w io.Writer, r *ledger.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		OK      bool   `json:"ok"`
		Summary string `json:"summary"`
		*ledger.Report
	}{r.OK(), r.Summary(), r})
}

func cmdProve(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("prove", "ID [--out FILE]", `
Write an inclusion proof of one entry, as JSON: the entry's exact line, its
leaf index, the audit path to the root, and the signed checkpoint of that
root. 'comply verify-proof' checks it offline with the verifier key, so one
interaction can be shown to an auditor without revealing the others.

  comply prove 0195e7a2-... --out entry.proof.json`)
	c.storeFlag(fs)
	out := fs.String("out", "", "write the proof to `FILE` instead of standard output")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("prove takes one argument: the entry's id")
	}
	st, err := openLedgerStore(ctx, c.store)
	if err != nil {
		return err
	}
	defer st.Close()
	p, err := ledger.Prove(ctx, st, rest[0])
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("entry %s not found", rest[0])
	}
	if err != nil {
		return err
	}
	b, err := p.Marshal()
	if err != nil {
		return err
	}
	if *out == "" {
		_, err = c.stdout.Write(b)
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "wrote the proof of entry %s (leaf %d of %d) to %s\n", rest[0], p.LeafIndex, p.TreeSize, *out)
	return nil
}

func cmdVerifyProof(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("verify-proof", "FILE|- [--verifier-key FILE]...", `
Check an inclusion proof written by 'comply prove', offline: the
checkpoint's signature against the verifier key, and the audit path from
the entry's line to the signed root. Print the entry's line on success.
Exit status 3 if the proof does not hold.`)
	var vkeys stringList
	fs.Var(&vkeys, "verifier-key", "read a verifier key from `FILE` (repeatable; env "+envVerifierKey+")")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("verify-proof takes one argument: the proof file, or - for standard input")
	}
	vs, err := loadVerifiers(vkeys)
	if err != nil {
		return err
	}
	var b []byte
	if rest[0] == "-" {
		b, err = readAllLimit(c.stdin, 16<<20)
	} else {
		b, err = os.ReadFile(rest[0])
	}
	if err != nil {
		return err
	}
	p, err := ledger.ParseProof(b)
	if err != nil {
		return err
	}
	cp, err := ledger.VerifyProof(p, vs...)
	if err != nil {
		fmt.Fprintf(c.stderr, "comply: error: the proof does not verify: %v\n", err)
		var se *ledger.SignatureError
		if errors.As(err, &se) && se.Kind == ledger.UnknownKey {
			fmt.Fprintln(c.stderr, "comply: hint: pass the verifier key of the log's writer with --verifier-key")
		}
		return &statusError{code: exitTampered}
	}
	id := ""
	var e struct {
		ID string `json:"id"`
	}
	if json.Unmarshal([]byte(p.Line), &e) == nil {
		id = e.ID + " "
	}
	_, err = fmt.Fprintf(c.stdout, "valid: entry %sis leaf %d of the %d entries of %s signed at %s\n%s\n",
		id, p.LeafIndex, cp.Size, cp.Origin, cp.Time.UTC().Format(time.RFC3339), p.Line)
	return err
}

func cmdSeal(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("seal", "[--signing-key FILE] [--origin NAME] [--reason TEXT]", `
Adopt the entries of the log that its ledger did not write: all of them in
a directory the Python library wrote, or lines that appeared while no
writer of this ledger ran. A writer refuses to start over such lines (it
never signs what it did not write); seal is the operator's explicit
decision. The lines are adopted in storage order, a checkpoint signs them,
and a signed adoption record keeps what was adopted, when, by which key
and why: 'comply verify' reports them as adopted, not as signed when
written. Anything changed before the seal cannot be told apart: run
'comply verify' first, and seal only a store you trust.

  comply keygen --signing --out prod
  comply seal --signing-key prod.signer --reason "imported from the Python service"`)
	c.storeFlag(fs)
	keyFile := c.signingKeyFlag(fs)
	origin := fs.String("origin", "", "the log's `NAME` in its checkpoints, for a new ledger (default comply/HOST/RANDOM)")
	reason := fs.String("reason", "", "why the entries are adopted, kept in the signed adoption record (`TEXT`)")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("seal takes no arguments")
	}
	signer, err := loadSigner(*keyFile)
	if err != nil {
		return err
	}
	if signer == nil {
		return &usageError{msg: "seal needs the signing key: pass --signing-key FILE or set " + envSigningKey,
			hint: "'comply keygen --signing --out NAME' writes one"}
	}
	s, err := openStore(ctx, c.store, false, filestore.Always)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := s.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing store: %w", cerr)
		}
	}()
	opts := &ledger.Options{Signer: signer, Origin: originOf(s, *origin), AdoptAll: true, AdoptReason: *reason}
	if isTerminal(c.stderr) {
		bar := c.verifyProgress(ctx, s, false)
		bar.Describe("sealing")
		defer bar.Finish()
		opts.Progress = func(n int64) { bar.Set64(n) }
	}
	lg, err := ledger.Open(ctx, s, opts)
	if err != nil {
		return err
	}
	if err := lg.Close(); err != nil {
		return err
	}
	n := lg.Size()
	recovered := ""
	if r := lg.Recovered(); r > 0 {
		recovered = fmt.Sprintf(", %d recovered from the journal", r)
	}
	_, err = fmt.Fprintf(c.stdout, "sealed: %d %s adopted%s; ledger %s signs %d %s\n",
		lg.Adopted(), plural(lg.Adopted(), "entry", "entries"), recovered, lg.Origin(), n, plural(int(n), "entry", "entries"))
	return err
}

func cmdHash(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("hash", "(--input TEXT | --input-file FILE) [--hash-key-file FILE]", `
Print the content hash that the log stores for a text (input_hash or
output_hash), to find the entries whose input or output was exactly that
text. Without a key it is the seed's plain SHA-256 (hex). With
--hash-key-file it is the keyed HMAC-SHA256 that a writer with the same key
stores, "hmac-sha256:" followed by hex: a short text's plain hash can be
reversed by guessing, a keyed one cannot without the key.

  comply query --since 30d --input-hash "$(comply hash --input 'yes')"`)
	input := fs.String("input", "", "the `TEXT` to hash")
	inputFile := fs.String("input-file", "", "hash the contents of `FILE` (- for standard input)")
	keyFile := c.hashKeyFileFlag(fs, "hash with the HMAC key in `FILE`, as the writer does")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q (the text goes in --input)", rest[0])
	}
	set := setFlags(fs)
	if set["input"] == set["input-file"] {
		return usagef("give the text with exactly one of --input and --input-file")
	}
	text := *input
	if set["input-file"] {
		if text, err = c.readContent(*inputFile); err != nil {
			return err
		}
	}
	h, err := hashText(text, *keyFile)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.stdout, h)
	return err
}

// loadHashKey reads an HMAC content-hash key from a file that only its
// owner can read. The key is the file's contents without surrounding
// whitespace.
func loadHashKey(path string) ([]byte, error) {
	b, err := keyfile.Read(path, true, 4096)
	if err != nil {
		return nil, fmt.Errorf("hash key: %w", err)
	}
	key := []byte(strings.TrimSpace(string(b)))
	clear(b)
	if len(key) == 0 {
		return nil, fmt.Errorf("hash key file %s is empty", path)
	}
	return key, nil
}

// writeSigningKeys writes a new Ed25519 note key pair named name: the
// signer key to out+".signer" (secret, mode 600) and the verifier key to
// out+".verifier" (public). It never overwrites a file.
func (c *cli) writeSigningKeys(name, out string) error {
	if out == "" {
		return usagef("--signing needs --out NAME: the key files are NAME.signer and NAME.verifier")
	}
	if name == "" || strings.ContainsAny(name, "+ \t\r\n") {
		return usagef("--out %q: the key's name (the file's base name) must not be empty or hold spaces or '+'", out)
	}
	sp, vp, err := ledger.WriteKeyFiles(out, name)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "wrote %s (secret: the writer signs with it; keep it mode 600)\nwrote %s (public: verify and verify-proof check with it)\n", sp, vp)
	return err
}

// signingKeyFlag adds --signing-key to a write command.
func (c *cli) signingKeyFlag(fs *flag.FlagSet) *string {
	return fs.String("signing-key", "", "sign the log's checkpoints with the key in `FILE` (mode 600; env "+envSigningKey+")")
}

// loadSigner loads the signing key from the file, if given, or from
// COMPLY_SIGNING_KEY (the key itself, or a file name). It returns nil, nil
// when neither is set. Errors never quote key material.
func loadSigner(file string) (*ledger.Signer, error) {
	if file != "" {
		return ledger.LoadSigner(file)
	}
	env := strings.TrimSpace(os.Getenv(envSigningKey))
	switch {
	case env == "":
		return nil, nil
	case strings.HasPrefix(env, "PRIVATE+KEY+"):
		s, err := ledger.NewSigner(env)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", envSigningKey, err)
		}
		return s, nil
	}
	return ledger.LoadSigner(env)
}

// openWriter opens the store for writing and a Logger over it, with the
// integrity ledger when a signing key is configured (--signing-key or
// COMPLY_SIGNING_KEY). A store that has a ledger is not written without
// its key: the new entries would be unsigned, and a cleanup would look
// like tampering.
func (c *cli) openWriter(ctx context.Context, durability filestore.Durability, opts *comply.Options, signingKey string) (*comply.Logger, error) {
	l, _, err := c.openWriterStore(ctx, durability, opts, signingKey)
	return l, err
}

// openWriterStore is openWriter that also returns the store under the
// Logger (owned by the Logger), for the blobs a server keeps beside the
// entries.
func (c *cli) openWriterStore(ctx context.Context, durability filestore.Durability, opts *comply.Options, signingKey string) (*comply.Logger, store.Store, error) {
	signer, err := loadSigner(signingKey)
	if err != nil {
		return nil, nil, err
	}
	s, err := c.openWriteStore(ctx, durability)
	if err != nil {
		return nil, nil, err
	}
	if err := c.subjectOptions(s, opts); err != nil {
		s.Close()
		return nil, nil, err
	}
	var l *comply.Logger
	if signer == nil {
		if sc, ok := s.(store.Sidecar); ok {
			if origins, err := ledger.Origins(ctx, sc); err == nil && len(origins) > 0 {
				s.Close()
				return nil, nil, withHint(fmt.Errorf("this store has an integrity ledger (%s): writing without its signing key would leave entries unsigned", strings.Join(origins, ", ")),
					"pass --signing-key FILE or set "+envSigningKey)
			}
		}
		l, err = comply.New(s, opts)
	} else {
		l, err = comply.NewWithIntegrity(ctx, s, opts, &comply.IntegrityOptions{Signer: signer, Origin: originOf(s, "")})
	}
	if err != nil {
		s.Close()
		return nil, nil, err
	}
	return l, s, nil
}

// openLedgerStore opens the store that spec names for reading, as a store
// that can carry an integrity ledger.
func openLedgerStore(ctx context.Context, spec string) (store.SidecarStore, error) {
	st, err := openStore(ctx, spec, true, 0)
	if err != nil {
		return nil, err
	}
	sst, ok := st.(store.SidecarStore)
	if !ok {
		st.Close()
		return nil, errors.New("this store keeps no integrity data")
	}
	return sst, nil
}

// originOf returns the ledger origin for a writer of s: the one given, or
// the writer id of a store shared by several writers (each keeps its own
// ledger, under its id), or "" for the ledger's default.
func originOf(s store.Store, given string) string {
	if given != "" {
		return given
	}
	if w, ok := s.(store.Shared); ok {
		return w.WriterID()
	}
	return ""
}
