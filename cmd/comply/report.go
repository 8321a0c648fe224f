package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/report"
	"github.com/complyhq/comply/server/accesslog"
)

// reportHelp is the description of 'comply report'.
const reportHelp = `
Write the compliance report of a period: the evidence computed from the
store, its signed ledger, its access log and its configuration
(population, coverage and silent gaps, integrity, retention, safety,
attribution and minimisation, access, incident candidates, a population
sample with inclusion proofs), and for each framework's controls a status
(pass, fail, not_evidenced, not_applicable or manual), the figures behind
it and what to do next. A status is never "pass" without evidence: without
--verifier-key the ledger's controls are not evidenced; controls that need
a policy or a person are "manual". docs/format.md (section 9) documents the
JSON; docs/compliance/ what each framework's report can and cannot show.

The store is read without a lock, so this works while a server writes it.

Examples:
  comply report --framework eu-ai-act --period 2026-Q3 --verifier-key audit.verifier
  comply report --framework all --period 2026-11 --format html --out report.html --verifier-key audit.verifier
  comply report --framework soc2 --start 2026-07-01 --end 2026-09-30 --format json --sample 50 --seed 7`

func cmdReport(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("report", "--framework NAME (--period P | --start T --end T) [--format md|html|json] [--out FILE]", reportHelp)
	c.storeFlag(fs)
	framework := fs.String("framework", "all", "the `FRAMEWORK`s, comma-separated: eu-ai-act, soc2, hipaa, iso42001, gdpr, or all")
	period := fs.String("period", "", "the `PERIOD` reported on: a quarter (2026-Q3), a month (2026-11) or a year (2026)")
	start := fs.String("start", "", "from `TIME` (inclusive), instead of --period")
	end := fs.String("end", "", "up to `TIME` (inclusive), instead of --period")
	format := fs.String("format", "md", "the `FORMAT`: md, html or json")
	out := fs.String("out", "", "write the report to `FILE` (mode 600) instead of standard output")
	sample := fs.Int("sample", 25, "sample `N` entries, each with its inclusion proof, for population testing")
	seed := fs.Uint64("seed", 1, "the sample's `SEED`: the same seed gives the same sample")
	retention := fs.Int("retention-days", comply.DefaultRetentionDays, "the retention period the writers run with, in `DAYS` (-1: forever)")
	serious := fs.String("serious", "", "the detectors and block reasons whose failures are incident candidates, comma-separated `LIST`")
	var vkeys stringList
	fs.Var(&vkeys, "verifier-key", "read a verifier key from `FILE` (repeatable; env "+envVerifierKey+")")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("report takes no arguments, got %q", rest[0])
	}
	in, err := reportInputs(*framework, *period, *start, *end, *format)
	if err != nil {
		return err
	}
	in.SampleSize, in.Seed, in.Config.RetentionDays = *sample, *seed, *retention
	if *serious != "" {
		in.Serious = strings.Split(*serious, ",")
	}
	if len(vkeys) > 0 || os.Getenv(envVerifierKey) != "" {
		// Without a key the report says the ledger's controls are not
		// evidenced, rather than refusing.
		if in.Verifiers, err = loadVerifiers(vkeys); err != nil {
			return err
		}
	}
	if in.Logger, err = c.openLogger(ctx, true, 0, nil); err != nil {
		return err
	}
	defer c.closeLogger(in.Logger, &err)
	al, aerr := c.openAccessLog(ctx, "")
	var none *noAccessLogError
	switch {
	case aerr == nil:
		defer c.closeLogger(al, &err)
		in.Access = accesslog.New(al).Records
	case !errors.As(aerr, &none):
		return aerr
	}
	r, err := report.Build(ctx, in)
	if err != nil {
		return err
	}
	return c.writeReport(r, *format, *out)
}

// reportInputs checks the frameworks, the period and the format.
func reportInputs(framework, period, start, end, format string) (report.Inputs, error) {
	var in report.Inputs
	if framework != "all" {
		for _, f := range strings.Split(framework, ",") {
			if !slices.Contains(report.Frameworks, f) {
				return in, usagef("--framework %q: want %s, or all", f, strings.Join(report.Frameworks, ", "))
			}
			in.Frameworks = append(in.Frameworks, f)
		}
	}
	switch format {
	case "md", "html", "json":
	default:
		return in, usagef("--format %q: want md, html or json", format)
	}
	switch {
	case period != "" && (start != "" || end != ""):
		return in, usagef("give --period or --start and --end, not both")
	case period != "":
		p, err := report.ParsePeriod(period)
		if err != nil {
			return in, usagef("--period %q: %v", period, err)
		}
		in.Period = p
	case start == "" || end == "":
		return in, usagef("give the period: --period 2026-Q3 (or 2026-11, 2026), or --start and --end")
	default:
		s, e, err := timeRange("", start, end, time.Now())
		if err != nil {
			return in, err
		}
		in.Period = report.Period{Start: s, End: e}
	}
	return in, nil
}

// writeReport renders r in the format to out, or standard output.
func (c *cli) writeReport(r *report.Report, format, out string) error {
	var w io.Writer = c.stdout
	var f *os.File
	if out != "" {
		var err error
		if f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	var err error
	switch format {
	case "html":
		err = report.WriteHTML(bw, r)
	case "json":
		err = report.WriteJSON(bw, r)
	default:
		err = report.WriteMarkdown(bw, r)
	}
	if err == nil {
		err = bw.Flush()
	}
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			fmt.Fprintf(c.stderr, "wrote %s\n", out)
		}
	}
	return err
}
