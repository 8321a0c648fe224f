package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
)

func cmdGet(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("get", "[--decrypt] ID", `
Print the entry with the id as one indented JSON object with the seed's 17
keys in the seed's order (id, timestamp, input_hash, output_hash,
input_content, output_content, provider, model, conversation_id,
safety_passed, detectors_triggered, block_reason, alerts, latency_ms,
input_tokens, output_tokens, metadata).

With --decrypt, input_content and output_content hold the decrypted
plaintext instead of the encrypted content; the key comes from
AUDIT_ENCRYPTION_KEY, --key-file or --key-source, or for content sealed to a
public key, the private key given with --identity. Entries logged hash-only have no content
to decrypt: they print unchanged, with a warning.`)
	c.storeFlag(fs)
	keyFile := c.keyFileFlag(fs)
	identity := c.identityFlag(fs)
	decrypt := fs.Bool("decrypt", false, "replace the content fields by their decrypted plaintext")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("get takes one entry ID")
	}
	if strings.TrimSpace(rest[0]) == "" {
		return usagef("get: the entry ID is empty")
	}
	id := rest[0]
	opts := &comply.Options{}
	if *decrypt {
		if err := readerKeys(opts, *keyFile, *identity); err != nil {
			return err
		}
	}
	l, err := c.openLoggerSubjects(ctx, true, 0, opts)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	e, err := l.Get(ctx, id)
	if err != nil {
		var nf *comply.NotFoundError
		if errors.As(err, &nf) {
			return &wrapMsg{msg: fmt.Sprintf("entry %s not found in store %s", id, c.storeName()), err: err}
		}
		return err
	}
	if *decrypt {
		hashOnly, err := decryptEntry(l, &e)
		if err != nil {
			return err
		}
		if hashOnly {
			fmt.Fprintf(c.stderr, "comply: warning: entry %s was logged hash-only: it holds no content to decrypt\n", id)
		}
	}
	j := toJSON(&e)
	return encodeJSON(c.stdout, j, true)
}

// decryptEntry replaces the content fields of e by their decrypted
// plaintext, and reports whether e was logged hash-only (it has no content
// to decrypt, and is left unchanged). Errors never quote key or content.
func decryptEntry(l *comply.Logger, e *comply.Entry) (hashOnly bool, err error) {
	if e.InputContent == "" && e.OutputContent == "" {
		return true, nil
	}
	for _, f := range []struct {
		name  string
		dst   *string
		empty comply.EmptyFields
	}{{"input_content", &e.InputContent, comply.EmptyInputContent}, {"output_content", &e.OutputContent, comply.EmptyOutputContent}} {
		if *f.dst == "" {
			continue
		}
		pt, err := l.DecryptEntryContent(e, *f.dst)
		var erased *comply.ErasedError
		if errors.As(err, &erased) {
			pt, err = erased.Error(), nil // "content erased on DATE (reason)"
		}
		if err != nil {
			return false, decryptError(fmt.Sprintf("%s of entry %s", f.name, e.ID), err)
		}
		*f.dst = pt
		if pt == "" {
			e.Empty |= f.empty // an empty plaintext prints as "", not null
		}
	}
	return false, nil
}

func cmdQuery(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("query", "[flags]", `
Print the entries within a time range that match every filter given, oldest
first. Time bounds are inclusive, as in the seed; without --since, --start or
--end every entry is listed.

Times: RFC 3339 (2026-11-25T17:38:41Z), the seed's naive ISO form
(2026-11-25T17:38:41.537070, taken as UTC) or a date (2026-11-25: --start is
that day's start, --end includes the whole day). Durations for --since: Go
durations plus days, e.g. 7d, 36h, 90m, 1d12h.

Content: --input-hash and --output-hash select the entries whose stored hash
is exactly the one given (plain SHA-256 hex, or "hmac-sha256:" and hex, as
'comply hash' prints them). --input-text and --output-text hash the text as
the writer did (keyed with --hash-key-file or COMPLY_HASH_KEY_FILE when the
store holds keyed hashes) and select by that hash; the text is never printed.

Formats: jsonl (default; one seed-schema JSON object per line), json (one
array) or table (aligned columns for people). With --decrypt, input_content
and output_content hold the decrypted plaintext, as in 'comply get
--decrypt'; the key comes from AUDIT_ENCRYPTION_KEY or --key-file. Entries
logged hash-only print unchanged, with one warning.

A damaged line is reported on stderr with its file and offset and skipped;
so is a file that looks like an entry file but is not read (an impossible
date such as audit_20261301.jsonl, a name of another shape, a symlink: the
store never follows links). The exit status is then 1.

  comply query --since 7d --provider openai --format table
  comply query --start 2026-11-01 --end 2026-11-30 --safety-failed
  comply query --metadata department=finance --metadata sensitivity=internal
  comply query --since 30d --input-text 'yes' --decrypt`)
	c.storeFlag(fs)
	var f queryFlags
	f.define(c, fs)
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *f.limit < 0 {
		return usagef("--limit must not be negative")
	}
	q, err := f.query(setFlags(fs), time.Now())
	if err != nil {
		return err
	}
	opts := &comply.Options{}
	if *f.decrypt {
		if err := readerKeys(opts, *f.keyFile, *f.identity); err != nil {
			return err
		}
	}
	out := bufio.NewWriter(c.stdout)
	ew, err := newEntryWriter(out, *f.format)
	if err != nil {
		return err
	}
	l, err := c.openLogger(ctx, true, 0, opts)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	return c.printQuery(ctx, l, q, ew, out, *f.limit, *f.decrypt)
}

// queryFlags are the filters and options of 'comply query'.
type queryFlags struct {
	since, start, end, provider, model, conv *string
	inputHash, outputHash, inputText         *string
	outputText, hashKeyFile, keyFile, format *string
	identity                                 *string
	safetyFailed, decrypt                    *bool
	meta                                     stringList
	limit                                    *int
}

func (f *queryFlags) define(c *cli, fs *flag.FlagSet) {
	f.since = fs.String("since", "", "entries of the last `DURATION` (7d, 36h, 90m)")
	f.start = fs.String("start", "", "entries at or after `TIME`")
	f.end = fs.String("end", "", "entries at or before `TIME`")
	f.provider = fs.String("provider", "", "only entries of this `PROVIDER`")
	f.model = fs.String("model", "", "only entries of this `MODEL`")
	f.conv = fs.String("conversation-id", "", "only entries of this conversation `ID`")
	f.safetyFailed = fs.Bool("safety-failed", false, "only entries whose safety checks failed")
	fs.Var(&f.meta, "metadata", "only entries whose metadata has `KEY=VALUE` at the top level (repeatable)")
	f.inputHash = fs.String("input-hash", "", "only entries whose input_hash is `HASH`")
	f.outputHash = fs.String("output-hash", "", "only entries whose output_hash is `HASH`")
	f.inputText = fs.String("input-text", "", "only entries whose input was exactly `TEXT` (compares hashes)")
	f.outputText = fs.String("output-text", "", "only entries whose output was exactly `TEXT` (compares hashes)")
	f.hashKeyFile = c.hashKeyFileFlag(fs, "hash --input-text and --output-text with the HMAC key in `FILE`, as the writer did")
	f.decrypt = fs.Bool("decrypt", false, "print the content fields decrypted")
	f.keyFile = c.keyFileFlag(fs)
	f.identity = c.identityFlag(fs)
	f.format = fs.String("format", "jsonl", "output `FORMAT`: "+formats)
	f.limit = fs.Int("limit", 0, "print at most `N` entries (0: no limit)")
}

// query turns the flags into a comply.Query; set names the flags given.
func (f *queryFlags) query(set map[string]bool, now time.Time) (q comply.Query, err error) {
	q = comply.Query{Provider: *f.provider, Model: *f.model, ConversationID: *f.conv, SafetyFailed: *f.safetyFailed}
	if q.Start, q.End, err = timeRange(*f.since, *f.start, *f.end, now); err != nil {
		return q, err
	}
	for _, kv := range f.meta {
		k, v, err := comply.ParseMeta(kv)
		if err != nil {
			return q, usagef("--metadata: %v", err)
		}
		if q.Metadata == nil {
			q.Metadata = map[string]string{}
		}
		q.Metadata[k] = v
	}
	if set["hash-key-file"] && !set["input-text"] && !set["output-text"] {
		return q, usagef("--hash-key-file hashes --input-text or --output-text: give one of them")
	}
	if q.InputHash, err = contentFilter("input", *f.inputHash, *f.inputText, set, *f.hashKeyFile); err != nil {
		return q, err
	}
	q.OutputHash, err = contentFilter("output", *f.outputHash, *f.outputText, set, *f.hashKeyFile)
	return q, err
}

// contentFilter returns the hash that --SIDE-hash or --SIDE-text selects
// ("" for neither). The text never appears in an error.
func contentFilter(side, hash, text string, set map[string]bool, hashKeyFile string) (string, error) {
	hf, tf := side+"-hash", side+"-text"
	switch {
	case set[hf] && set[tf]:
		return "", usagef("--%s and --%s cannot be used together", hf, tf)
	case set[tf]:
		return hashText(text, hashKeyFile)
	case !set[hf]:
		return "", nil
	}
	h := strings.ToLower(strings.TrimSpace(hash))
	if !isContentHash(strings.TrimPrefix(h, comply.HMACPrefix)) {
		return "", usagef("--%s: want a SHA-256 in hex (64 digits), or %q and 64 hex digits, as 'comply hash' prints", hf, comply.HMACPrefix)
	}
	return h, nil
}

// isContentHash reports whether s is 64 lowercase hex digits.
func isContentHash(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}

// hashText returns the content hash a writer stores for text: the plain
// SHA-256 in hex or, with a hash key file, the keyed HMAC-SHA256.
func hashText(text, hashKeyFile string) (string, error) {
	if hashKeyFile == "" {
		sum := sha256.Sum256([]byte(text))
		return hex.EncodeToString(sum[:]), nil
	}
	key, err := loadHashKey(hashKeyFile)
	if err != nil {
		return "", err
	}
	defer clear(key)
	return comply.HashHMAC(key, text), nil
}

// printQuery writes the entries of q, at most limit of them (0: all),
// decrypted if asked.
func (c *cli) printQuery(ctx context.Context, l *comply.Logger, q comply.Query, ew entryWriter, out *bufio.Writer, limit int, decrypt bool) error {
	n, hashOnly := 0, 0
	var sk skipped
	for e, err := range l.Query(ctx, q) {
		if err != nil {
			out.Flush()
			if sk.note(c, err) {
				continue
			}
			return err
		}
		if decrypt {
			ho, err := decryptEntry(l, &e)
			if err != nil {
				out.Flush()
				return err
			}
			if ho {
				hashOnly++
			}
		}
		if err := ew.Write(&e); err != nil {
			return err
		}
		if n++; limit > 0 && n >= limit {
			break
		}
	}
	if err := ew.Close(); err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if hashOnly > 0 {
		fmt.Fprintf(c.stderr, "comply: warning: %d %s logged hash-only: %s no content to decrypt\n",
			hashOnly, plural(hashOnly, "entry was", "entries were"), plural(hashOnly, "it holds", "they hold"))
	}
	return sk.result(c)
}

// skipped counts what a query could not show: damaged lines and files the
// store does not read.
type skipped struct{ corrupt, strays int }

// note warns about err on stderr and reports whether the query may go on
// past it: a stray file or a damaged line.
func (sk *skipped) note(c *cli, err error) bool {
	var sf *filestore.StrayFileError
	if errors.As(err, &sf) {
		sk.strays++
		fmt.Fprintf(c.stderr, "comply: warning: %s\n", termSafe(sf.Error()))
		return true
	}
	var ce *store.CorruptionError
	if errors.As(err, &ce) {
		sk.corrupt++
		fmt.Fprintf(c.stderr, "comply: warning: skipping corrupt entry in %s at offset %d: %v\n", ce.Path, ce.Offset, ce.Err)
		return true
	}
	return false
}

// result says what was skipped, if anything, and makes the exit status 1.
func (sk *skipped) result(c *cli) error {
	if sk.corrupt == 0 && sk.strays == 0 {
		return nil
	}
	var what []string
	if sk.corrupt > 0 {
		what = append(what, fmt.Sprintf("%d corrupt %s", sk.corrupt, plural(sk.corrupt, "entry", "entries")))
	}
	if sk.strays > 0 {
		what = append(what, fmt.Sprintf("%d %s not read", sk.strays, plural(sk.strays, "file that is", "files that are")))
	}
	fmt.Fprintf(c.stderr, "comply: error: skipped %s\n", strings.Join(what, " and "))
	return &statusError{code: exitError}
}

// strayFiles returns the files that look like entry files but that the
// store does not read, if the store can tell (the file store can).
func strayFiles(ctx context.Context, l *comply.Logger) ([]*filestore.StrayFileError, error) {
	sr, ok := l.Store().(interface {
		StrayFiles(context.Context) ([]*filestore.StrayFileError, error)
	})
	if !ok {
		return nil, nil
	}
	return sr.StrayFiles(ctx)
}

// unreadableLines returns the number of stored lines the store cannot read
// as entries (no id or time), if the store can tell (the file store can).
func unreadableLines(ctx context.Context, l *comply.Logger) (int64, error) {
	cr, ok := l.Store().(interface {
		Corrupt(context.Context) (int64, error)
	})
	if !ok {
		return 0, nil
	}
	return cr.Corrupt(ctx)
}

// timeRange turns --since, --start and --end into inclusive bounds.
func timeRange(since, start, end string, now time.Time) (s, e time.Time, err error) {
	if since != "" && start != "" {
		return s, e, usagef("--since and --start cannot be used together")
	}
	if since != "" {
		d, err := parseSince(since)
		if err != nil {
			return s, e, usagef("--since: %v", err)
		}
		s = now.Add(-d).UTC()
	}
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
		return s, e, usagef("the end of the time range is before its start")
	}
	return s, e, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func cmdCount(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("count", "", `
Print the number of lines stored: the entries, and the damaged lines too.
count reads no line; 'comply query' reads them all and names each line it
cannot read, so that the entries it prints and the damaged lines it names
add up to the count. When the store already knows of lines it cannot read
as entries, or of files it does not read (an impossible date, a name of
another shape, a symlink), count says so on stderr.`)
	c.storeFlag(fs)
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("count takes no arguments")
	}
	l, err := c.openLogger(ctx, true, 0, nil)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	n, err := l.Count(ctx)
	if err != nil {
		return err
	}
	bad, err := unreadableLines(ctx, l)
	if err != nil {
		return err
	}
	strays, err := strayFiles(ctx, l)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(c.stdout, n+bad); err != nil {
		return err
	}
	if bad > 0 {
		fmt.Fprintf(c.stderr, "comply: warning: %d of the %d lines stored cannot be read as an entry; 'comply query' names every damaged line\n", bad, n+bad)
	}
	for _, sf := range strays {
		fmt.Fprintf(c.stderr, "comply: warning: %s; its lines are not counted\n", termSafe(sf.Error()))
	}
	return nil
}
