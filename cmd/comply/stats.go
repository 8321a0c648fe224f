package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store"
)

func cmdStats(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("stats", "[--since DURATION] [--json]", `
Print the audit log's health metrics, as the seed's check_audit_health():
the total number of entries, the entries in the window (the last hour by
default), the safety failures among them and, apart, the calls that failed
(HTTP and transport errors), the average and 95th-percentile latency, the
time to first token of streams and the total cost when the entries record
them, and the same per model. With --json, print comply.Stats as JSON.

Damaged lines are counted and make the exit status 1; 'comply query' shows
where they are. So do files that look like entry files but are not read (an
impossible date, a name of another shape, a symlink), each named on stderr.`)
	c.storeFlag(fs)
	since := fs.String("since", "1h", "the window: the last `DURATION` (7d, 36h, 90m)")
	asJSON := fs.Bool("json", false, "print the metrics as JSON")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("stats takes no arguments")
	}
	d, err := parseSince(*since)
	if err != nil {
		return usagef("--since: %v", err)
	}
	l, err := c.openLogger(ctx, true, 0, nil)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	st, err := l.Stats(ctx, time.Now().Add(-d))
	if err != nil {
		return err
	}
	// Stats counts damaged lines, not the files the store does not read
	// (it reads segments' rollups, not a Scan): those are named apart.
	strays, err := strayFiles(ctx, l)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		if st.ByModel == nil {
			st.ByModel = []comply.ModelStats{}
		}
		if err := enc.Encode(st); err != nil {
			return err
		}
	} else if err := writeStats(c.stdout, &st, *since); err != nil {
		return err
	}
	for _, sf := range strays {
		fmt.Fprintf(c.stderr, "comply: warning: %s; its lines are not counted\n", termSafe(sf.Error()))
	}
	if st.Corrupt > 0 {
		fmt.Fprintf(c.stderr, "comply: error: %d corrupt %s in the window were skipped\n", st.Corrupt, plural(int(st.Corrupt), "entry", "entries"))
		fmt.Fprintln(c.stderr, "comply: hint: 'comply query --since "+*since+"' names their files and offsets")
	}
	if st.Corrupt > 0 || len(strays) > 0 {
		return &statusError{code: exitError}
	}
	return nil
}

// writeStats prints st for people.
func writeStats(w io.Writer, st *comply.Stats, window string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Audit log health, last %s (since %s UTC)\n\n", window, st.Since.UTC().Format("2006-01-02 15:04:05"))
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  total entries\t%d\n", st.TotalEntries)
	fmt.Fprintf(tw, "  entries in window\t%d\n", st.WindowEntries)
	fmt.Fprintf(tw, "  safety failures\t%s\n", share(st.SafetyFailures, st.WindowEntries))
	fmt.Fprintf(tw, "  errors\t%s\n", share(st.Errors, st.WindowEntries))
	fmt.Fprintf(tw, "  average latency\t%s\n", ms(st.AvgLatencyMS))
	fmt.Fprintf(tw, "  p95 latency\t%s\n", ms(st.P95LatencyMS))
	if st.TTFTEntries > 0 {
		fmt.Fprintf(tw, "  time to first token\tp50 %s, p95 %s (%d %s)\n", ms(st.TTFTP50MS), ms(st.TTFTP95MS),
			st.TTFTEntries, plural(int(st.TTFTEntries), "stream", "streams"))
	}
	if st.PricedEntries > 0 {
		fmt.Fprintf(tw, "  cost\t$%.4f (%d priced %s)\n", st.CostUSD, st.PricedEntries, plural(int(st.PricedEntries), "entry", "entries"))
	}
	if st.Corrupt > 0 {
		fmt.Fprintf(tw, "  corrupt lines\t%d\n", st.Corrupt)
	}
	tw.Flush()
	if len(st.ByModel) > 0 {
		b.WriteString("\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  MODEL\tENTRIES\tFAILURES\tERRORS\tAVG LATENCY\tP95 LATENCY")
		for _, m := range st.ByModel {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%s\t%s\n", dash(m.Model), m.Entries, m.SafetyFailures, m.Errors, ms(m.AvgLatencyMS), ms(m.P95LatencyMS))
		}
		tw.Flush()
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func ms(v float64) string { return fmt.Sprintf("%.1f ms", v) }

// share prints n and its percentage of total.
func share(n, total int64) string {
	if total == 0 {
		return fmt.Sprint(n)
	}
	return fmt.Sprintf("%d (%.1f%%)", n, 100*float64(n)/float64(total))
}

func cmdCleanup(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("cleanup", "[--retention-days N] [--dry-run] [--yes]", `
Delete the entries older than the retention period, as the seed's
cleanup_expired(), and print how many were deleted. --retention-days 0
deletes every entry stamped before now.

With --dry-run, print how many entries would be deleted and delete nothing
(the store is opened read-only, so this works while a writer runs).

A cleanup that would delete every entry of the store asks first when
standard input is a terminal; otherwise it is refused unless --yes is given.

  comply cleanup --retention-days 365
  comply cleanup --retention-days 30 --dry-run
  comply cleanup --retention-days 0 --yes`)
	c.storeFlag(fs)
	durability := c.durabilityFlag(fs)
	signingKey := c.signingKeyFlag(fs)
	days := fs.Int("retention-days", comply.DefaultRetentionDays, "keep entries for `N` days")
	dryRun := fs.Bool("dry-run", false, "print how many entries would be deleted; delete nothing")
	yes := fs.Bool("yes", false, "delete even if every entry of the store would go, without asking")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("cleanup takes no arguments")
	}
	if *days < 0 || *days > comply.MaxRetentionDays {
		return usagef("--retention-days must be between 0 and %d (100 years)", comply.MaxRetentionDays)
	}
	dur, err := parseDurability(*durability)
	if err != nil {
		return err
	}
	cutoff := time.Now().AddDate(0, 0, -*days)
	if *dryRun {
		return c.cleanupDryRun(ctx, cutoff)
	}
	l, err := c.openWriter(ctx, dur, &comply.Options{}, *signingKey)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	if !*yes {
		if err := c.confirmCleanupAll(ctx, l, cutoff); err != nil {
			return err
		}
	}
	stop := c.spinner("deleting expired entries")
	n, err := l.CleanupBefore(ctx, cutoff)
	stop()
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(c.stdout, "deleted %d expired entries\n", n); err != nil {
		return err
	}
	return c.reportKept(ctx, l, cutoff)
}

// cleanupDryRun prints how many entries a cleanup at cutoff would delete.
func (c *cli) cleanupDryRun(ctx context.Context, cutoff time.Time) (err error) {
	l, err := c.openLogger(ctx, true, 0, nil)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	n, unreadable, err := expired(ctx, l, cutoff)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(c.stdout, "would delete %d expired %s (stamped before %s UTC); nothing deleted\n",
		n, plural(int(n), "entry", "entries"), cutoff.UTC().Format("2006-01-02 15:04:05")); err != nil {
		return err
	}
	if unreadable > 0 {
		fmt.Fprintf(c.stderr, "comply: warning: %d unreadable %s or files would be kept: their age is unknown\n", unreadable, plural(int(unreadable), "line", "lines"))
	}
	return nil
}

// confirmCleanupAll asks, when a cleanup at cutoff would delete every
// entry of the store, whether to go on: on a terminal it asks; otherwise
// it refuses, as --yes is not given.
func (c *cli) confirmCleanupAll(ctx context.Context, l *comply.Logger, cutoff time.Time) error {
	n, err := l.Count(ctx)
	if err != nil || n == 0 {
		return err
	}
	// One readable entry at or after the cutoff is enough to go on; the
	// scan stops there.
	for _, err := range l.Store().Scan(ctx, store.Query{Start: cutoff}) {
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	what := fmt.Sprintf("every entry of store %s (%d %s)", c.storeName(), n, plural(int(n), "entry", "entries"))
	if !isTerminal(c.stdin) {
		return &usageError{msg: "cleanup would delete " + what + "; nothing deleted",
			hint: "pass --yes to delete them all, or --dry-run to see the count"}
	}
	ok, err := askYes(c.stdin, c.stderr, "Delete "+what+"?")
	if err != nil {
		return fmt.Errorf("reading the answer: %w", err)
	}
	if !ok {
		return errors.New("cleanup cancelled; nothing deleted")
	}
	return nil
}

// askYes writes the question to w and reads one line from r: true for "y"
// or "yes" (any case), false for anything else, an empty line or no line.
func askYes(r io.Reader, w io.Writer, question string) (bool, error) {
	fmt.Fprintf(w, "%s [y/N] ", question)
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return false, err
	}
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

// expired counts the entries stamped before the cutoff, and the lines or
// files whose age cannot be read.
func expired(ctx context.Context, l *comply.Logger, cutoff time.Time) (n, unreadable int64, err error) {
	for _, err := range l.Store().Scan(ctx, store.Query{End: cutoff.Add(-time.Microsecond)}) {
		switch {
		case err == nil:
			n++
		case errors.Is(err, ctx.Err()) && ctx.Err() != nil:
			return n, unreadable, err
		default:
			unreadable++
		}
	}
	return n, unreadable, nil
}

// reportKept says how many entries stamped before the cutoff are still
// there after a cleanup: what an S3 Object Lock still protects, or lines
// that cannot be read (whose age is unknown, so they are never deleted).
func (c *cli) reportKept(ctx context.Context, l *comply.Logger, cutoff time.Time) error {
	kept, unreadable, err := expired(ctx, l, cutoff)
	if err != nil {
		return err
	}
	if kept > 0 {
		fmt.Fprintf(c.stdout, "kept %d expired %s that the store still protects (S3 Object Lock)\n", kept, plural(int(kept), "entry", "entries"))
	}
	if unreadable > 0 {
		fmt.Fprintf(c.stderr, "comply: warning: %d unreadable %s or files kept: their age is unknown\n", unreadable, plural(int(unreadable), "line", "lines"))
	}
	return nil
}

// spinner shows a spinner on stderr, when it is a terminal, until the
// returned function is called.
func (c *cli) spinner(desc string) (stop func()) {
	if !isTerminal(c.stderr) {
		return func() {}
	}
	bar := progressbar.NewOptions(-1,
		progressbar.OptionSetWriter(c.stderr),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionClearOnFinish(),
	)
	bar.RenderBlank()
	return func() { bar.Finish() }
}
