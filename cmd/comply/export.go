package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/complyhq/comply/export"
)

func cmdExport(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("export", "--format parquet --out DIR|s3://BUCKET/PREFIX [--start T --end T] [--promote KEY,...] [--settle DURATION] [--json]", `
Export the entries to DIR as Parquet files that DuckDB, Athena/Trino and
Spark read as they are: DIR/dt=YYYY-MM-DD/part-WRITER-SEQ-N.parquet, Hive
partitions by UTC day, zstd-compressed, in the schema of docs/format.md
section 7. Content fields are exported as stored (encrypted).

--out s3://BUCKET/PREFIX[?region=R&endpoint=URL] writes the same layout
to an S3 prefix (endpoint= for MinIO and other S3-compatible stores), with
credentials from the standard AWS chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, an
instance role), never from the URL. Each file is one PUT, visible whole.

The export is incremental: DIR/_comply_export/watermark.json (an object on
S3) keeps, per
writer, the last entry exported, and a second run exports only the newer
entries; run it as often as you like (from cron, say). Entries younger than
--settle (a minute) wait for the next run. A run that was stopped is redone
by the next without duplicates. --promote copies metadata keys into columns
of their own (as strings); every run into one DIR must promote the same keys.`)
	c.storeFlag(fs)
	format := fs.String("format", "parquet", "the file `FORMAT`: parquet")
	out := fs.String("out", "", "the output `DIR` or s3://BUCKET/PREFIX")
	start := fs.String("start", "", "export entries stamped at or after `T` (RFC 3339 or YYYY-MM-DD)")
	end := fs.String("end", "", "export entries stamped at or before `T`")
	promote := fs.String("promote", "", "metadata `KEYS` to export as columns, comma-separated (user_id,session_id)")
	settle := fs.Duration("settle", export.DefaultSettle, "leave the entries younger than `DURATION` for the next run (0: none)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("export takes no arguments")
	}
	if *format != "parquet" {
		return usagef("--format %q: want parquet", *format)
	}
	switch {
	case *out == "":
		return usagef("export needs --out DIR")
	case strings.Contains(*out, "://") && !strings.HasPrefix(*out, "s3://"):
		scheme, _, _ := strings.Cut(*out, "://")
		return usagef("--out: scheme %q: want a folder or s3://BUCKET/PREFIX", scheme)
	case *settle < 0:
		return usagef("--settle must not be negative")
	}
	opts := &export.Options{Settle: *settle}
	if *settle == 0 {
		opts.Settle = -1
	}
	if *start != "" {
		if opts.Start, err = parseTime(*start, false); err != nil {
			return usagef("--start: %v", err)
		}
	}
	if *end != "" {
		if opts.End, err = parseTime(*end, true); err != nil {
			return usagef("--end: %v", err)
		}
	}
	if *promote != "" {
		opts.Promote = strings.Split(*promote, ",")
	}
	l, err := c.openLogger(ctx, true, 0, nil)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	res, err := export.Parquet(ctx, l, *out, opts)
	if err != nil {
		return err
	}
	if *asJSON {
		if res.Files == nil {
			res.Files = []string{}
		}
		if err := json.NewEncoder(c.stdout).Encode(exportJSON{res.Entries, res.Skipped, res.Corrupt, res.Files, res.Bytes, res.Through}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(c.stdout, "exported %d %s to %d %s (%d bytes) in %s, through %s UTC",
			res.Entries, plural(int(res.Entries), "entry", "entries"), len(res.Files), plural(len(res.Files), "file", "files"),
			res.Bytes, *out, res.Through.UTC().Format("2006-01-02 15:04:05"))
		if res.Skipped > 0 {
			fmt.Fprintf(c.stdout, "; %d exported before", res.Skipped)
		}
		fmt.Fprintln(c.stdout)
	}
	if res.Corrupt > 0 {
		fmt.Fprintf(c.stderr, "comply: error: %d corrupt %s skipped, not exported\n", res.Corrupt, plural(int(res.Corrupt), "entry", "entries"))
		fmt.Fprintln(c.stderr, "comply: hint: 'comply query' names their files and offsets")
		return &statusError{code: exitError}
	}
	return nil
}

// exportJSON is export.Result as 'comply export --json' prints it.
type exportJSON struct {
	Entries int64     `json:"entries"`
	Skipped int64     `json:"skipped"`
	Corrupt int64     `json:"corrupt"`
	Files   []string  `json:"files"`
	Bytes   int64     `json:"bytes"`
	Through time.Time `json:"through"`
}
