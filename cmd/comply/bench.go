package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"text/tabwriter"

	"github.com/complyhq/comply/cmd/comply/internal/bench"
)

func cmdBench(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("bench", "[--n N] [--json]", `Measure comply on this machine: logging (hash-only and encrypted, durability
none; durability always with 64 callers), get by id, a range query over
everything, count and retention cleanup, with entries of 500 + 1,500 bytes
of content. The data goes to a temporary directory (or --dir), removed
afterwards; it takes about N x 700 bytes of disk.`)
	n := fs.Int("n", 1_000_000, "the number of entries in the main data set, `N`")
	dir := fs.String("dir", "", "write to `DIR` (default: a new temporary directory)")
	conc := fs.Int("concurrency", 4, "the number of callers of the non-durable logging runs, `N`")
	asJSON := fs.Bool("json", false, "print the figures as one JSON object")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("bench takes no arguments")
	}
	if *n < 1000 {
		return usagef("--n must be at least 1000")
	}
	exe, _ := os.Executable()
	r, err := bench.Run(ctx, bench.Config{
		N: *n, Dir: *dir, Concurrency: *conc, Exe: exe,
		Progress: func(step string) { fmt.Fprintf(c.stderr, "comply bench: %s\n", step) },
	})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	fmt.Fprintf(c.stdout, "comply bench: %d entries of 500 + 1,500 bytes, %d CPUs, %s\n\n", r.N, runtime.NumCPU(), runtime.Version())
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "operation\tresult\tp50\tp99\ttarget\tPython reference")
	row := func(op, res, p50, p99, target, ref string) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", op, res, p50, p99, target, ref)
	}
	row("log hash-only, durability none", rate(r.LogHashOnlyPerS), us(r.LogHashOnlyP50us), us(r.LogHashOnlyP99us), ">= 150,000/s", "1,197/s")
	row("log encrypted, durability none", rate(r.LogEncryptedPerS), us(r.LogEncryptedP50us), us(r.LogEncryptedP99us), ">= 60,000/s", "992/s")
	row("log durability always, 64 callers", rate(r.LogDurableC64PerS), us(r.LogDurableC64P50us), us(r.LogDurableC64P99us), ">= 20,000/s", "(no fsync)")
	row("get by id, in process", "", us(r.GetP50us), us(r.GetP99us), "p50 <= 100 us", "~1.1 s")
	if r.ColdGetP50ms > 0 {
		row("get by id, cold `comply get`", "", fmt.Sprintf("%.1f ms", r.ColdGetP50ms), "", "<= 50 ms", "")
	}
	row("range query, all entries decoded", rate(r.RangePerS), "", "", ">= 1,000,000/s", "7,100/s")
	row("range query RSS", fmt.Sprintf("%.0f MB", r.RangeRSSMB), "", "", "<= 100 MB", "all in memory")
	row("count", fmt.Sprintf("%.2f ms", r.CountMS), "", "", "<= 100 ms", "2.5 s")
	row(fmt.Sprintf("cleanup %d expired", r.CleanupDeleted), fmt.Sprintf("%.0f ms", r.CleanupMS), "", "", "<= 1 s (100k of 1M)", "366 ms per entry")
	tw.Flush()
	fmt.Fprintf(c.stdout, "\nbytes per entry: %.0f hash-only, %.0f encrypted; one fsync: %s (p50); peak RSS: %.0f MB\n",
		r.BytesPerEntry, r.BytesPerEntryCrypt, us(r.FsyncP50us), r.PeakRSSMB)
	return nil
}

func rate(v float64) string { return fmt.Sprintf("%s/s", thousands(int64(v))) }

func us(v float64) string {
	if v >= 1000 {
		return fmt.Sprintf("%.2f ms", v/1000)
	}
	return fmt.Sprintf("%.1f us", v)
}

func thousands(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
