package main

import (
	"bufio"
	"context"
	"errors"
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
AUDIT_ENCRYPTION_KEY or --key-file. Entries logged hash-only have no content
to decrypt: they print unchanged, with a warning.`)
	c.storeFlag(fs)
	keyFile := c.keyFileFlag(fs)
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
		if opts.Keyring, err = keyring(*keyFile); err != nil {
			return err
		}
	}
	l, err := c.openLogger(ctx, true, 0, opts)
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
	j := toJSON(&e)
	if *decrypt {
		if e.InputContent == "" && e.OutputContent == "" {
			fmt.Fprintf(c.stderr, "comply: warning: entry %s was logged hash-only: it holds no content to decrypt\n", id)
		}
		for _, f := range []struct {
			name    string
			content string
			dst     **string
		}{{"input_content", e.InputContent, &j.InputContent}, {"output_content", e.OutputContent, &j.OutputContent}} {
			if f.content == "" {
				continue
			}
			pt, err := l.DecryptContent(f.content)
			if err != nil {
				return decryptError(fmt.Sprintf("%s of entry %s", f.name, id), err)
			}
			*f.dst = &pt
		}
	}
	return encodeJSON(c.stdout, j, true)
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

Formats: jsonl (default; one seed-schema JSON object per line), json (one
array) or table (aligned columns for people).

A damaged line is reported on stderr with its file and offset and skipped;
so is a file that looks like an entry file but is not read (an impossible
date such as audit_20261301.jsonl, a name of another shape, a symlink: the
store never follows links). The exit status is then 1.

  comply query --since 7d --provider openai --format table
  comply query --start 2026-11-01 --end 2026-11-30 --safety-failed
  comply query --metadata department=finance --metadata sensitivity=internal`)
	c.storeFlag(fs)
	since := fs.String("since", "", "entries of the last `DURATION` (7d, 36h, 90m)")
	start := fs.String("start", "", "entries at or after `TIME`")
	end := fs.String("end", "", "entries at or before `TIME`")
	provider := fs.String("provider", "", "only entries of this `PROVIDER`")
	model := fs.String("model", "", "only entries of this `MODEL`")
	conv := fs.String("conversation-id", "", "only entries of this conversation `ID`")
	safetyFailed := fs.Bool("safety-failed", false, "only entries whose safety checks failed")
	var meta stringList
	fs.Var(&meta, "metadata", "only entries whose metadata has `KEY=VALUE` at the top level (repeatable)")
	format := fs.String("format", "jsonl", "output `FORMAT`: "+formats)
	limit := fs.Int("limit", 0, "print at most `N` entries (0: no limit)")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	if *limit < 0 {
		return usagef("--limit must not be negative")
	}
	q := comply.Query{Provider: *provider, Model: *model, ConversationID: *conv, SafetyFailed: *safetyFailed}
	if q.Start, q.End, err = timeRange(*since, *start, *end, time.Now()); err != nil {
		return err
	}
	for _, kv := range meta {
		k, v, err := comply.ParseMeta(kv)
		if err != nil {
			return usagef("--metadata: %v", err)
		}
		if q.Metadata == nil {
			q.Metadata = map[string]string{}
		}
		q.Metadata[k] = v
	}
	out := bufio.NewWriter(c.stdout)
	ew, err := newEntryWriter(out, *format)
	if err != nil {
		return err
	}
	l, err := c.openLogger(ctx, true, 0, nil)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)

	n := 0
	var sk skipped
	for e, err := range l.Query(ctx, q) {
		if err != nil {
			out.Flush()
			if sk.note(c, err) {
				continue
			}
			return err
		}
		if err := ew.Write(&e); err != nil {
			return err
		}
		if n++; *limit > 0 && n >= *limit {
			break
		}
	}
	if err := ew.Close(); err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return err
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
