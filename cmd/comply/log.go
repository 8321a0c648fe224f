package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/internal/line"
)

// Bulk logging: at most jsonlBatch lines per LogBatch call, and a line
// waits at most jsonlWait before its batch is stored.
const (
	jsonlBatch   = 1000
	jsonlWait    = 50 * time.Millisecond
	maxJSONLLine = 64 << 20
	maxInputFile = 256 << 20
)

// logSynopsis and logHelp are the usage of 'comply log'.
const (
	logSynopsis = "[flags] (--input TEXT | --input-file FILE) [--output TEXT | --output-file FILE]\n       comply log [flags] --jsonl FILE|-"
	logHelp     = `
Record one interaction and print its id once it is durable.

Only SHA-256 hashes of the input and output are stored, unless
--store-content is given: then the content is also stored, encrypted with the
key from AUDIT_ENCRYPTION_KEY or --key-file. Content is taken byte for byte
(a file's trailing newline is part of it).

With --jsonl, log one interaction per line of FILE (- for standard input):
a JSON object with the keyword arguments of the Python library's log():
input, output, provider, model, conversation_id, safety_passed (default
true), detectors_triggered, block_reason, alerts, latency_ms, input_tokens,
output_tokens, metadata. A line may also hold a timestamp, to backfill an
interaction at the time it happened: ISO 8601 as the Python library writes
it (2026-11-25T17:38:41.537070, UTC) or RFC 3339 with a zone; the entry,
its id and its day file follow it. A timestamp more than a minute in the
future is refused. The ids are printed one per line, in input order,
each once its entry is durable. A bad line stops the run with an error that
names it; the lines before it are stored and their ids printed.

  comply log --input "What is the weather today?" --output "I can't say." \
      --provider openai --model gpt-4 --latency-ms 150 \
      --metadata '{"user_id": "user-123"}'`
)

// logFlags holds the flags of 'comply log'.
type logFlags struct {
	durability, signingKey, keyFile *string
	hashKeyFile, policy             *string
	input, inputFile                *string
	output, outputFile              *string
	provider, model, conv           *string
	safetyFailed                    *bool
	detectors, alerts               stringList
	blockReason                     *string
	latency                         *float64
	inTokens, outTokens             optInt
	metadata                        *string
	storeContent                    *bool
	jsonl                           *string
	set                             map[string]bool // the flags given
}

func cmdLog(ctx context.Context, c *cli, args []string) (err error) {
	f, err := c.parseLogFlags(args)
	if err != nil {
		return err
	}
	dur, err := parseDurability(*f.durability)
	if err != nil {
		return err
	}
	var in comply.Interaction
	if f.set["jsonl"] {
		err = f.checkJSONLAlone()
	} else {
		in, err = c.interactionFromFlags(f)
	}
	if err != nil {
		return err
	}
	opts, err := writerOptions(*f.storeContent, *f.keyFile, *f.hashKeyFile)
	if err != nil {
		return err
	}
	defer clear(opts.HashKey)
	if *f.policy != "" {
		p, err := loadPolicy(*f.policy)
		if err != nil {
			return err
		}
		if err := withPolicy(opts, p, *f.keyFile); err != nil {
			return err
		}
	}
	var src io.Reader
	var srcSize int64 = -1
	if f.set["jsonl"] {
		var done func()
		if src, srcSize, done, err = c.openJSONLSource(*f.jsonl); err != nil {
			return err
		}
		defer done()
	}

	l, err := c.openWriter(ctx, dur, opts, *f.signingKey)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	if f.set["jsonl"] {
		return c.logJSONL(ctx, l, src, srcSize)
	}
	id, err := l.Log(ctx, in)
	if err != nil {
		return err
	}
	if id == "" { // policy level none: counted, no entry
		_, err = fmt.Fprintln(c.stderr, "comply: counted, not logged: the policy's level for it is none")
		return err
	}
	_, err = fmt.Fprintln(c.stdout, id)
	return err
}

// parseLogFlags defines and parses the flags of 'comply log', which takes
// no positional arguments.
func (c *cli) parseLogFlags(args []string) (*logFlags, error) {
	fs := c.flagSet("log", logSynopsis, logHelp)
	c.storeFlag(fs)
	f := &logFlags{
		durability: c.durabilityFlag(fs),
		signingKey: c.signingKeyFlag(fs),
		keyFile:    c.writerKeyFlag(fs),
	}
	f.hashKeyFile = c.hashKeyFileFlag(fs, "store keyed hashes (HMAC-SHA256) with the key in `FILE`")
	f.policy = fs.String("policy", "", policyFlagUsage)
	f.input = fs.String("input", "", "the input: the prompt or request `TEXT`")
	f.inputFile = fs.String("input-file", "", "read the input from `FILE` (- for standard input)")
	f.output = fs.String("output", "", "the output: the response `TEXT` (empty for a blocked request)")
	f.outputFile = fs.String("output-file", "", "read the output from `FILE` (- for standard input)")
	f.provider = fs.String("provider", "", "the provider `NAME`, e.g. openai")
	f.model = fs.String("model", "", "the model `NAME`, e.g. gpt-4")
	f.conv = fs.String("conversation-id", "", "the `ID` that links the turns of a conversation")
	f.safetyFailed = fs.Bool("safety-failed", false, "the safety checks failed or the request was blocked")
	fs.Var(&f.detectors, "detector", "the `NAME` of a detector that fired (repeatable)")
	f.blockReason = fs.String("block-reason", "", "why the request was blocked, as `TEXT`")
	fs.Var(&f.alerts, "alert", "an alert: a warning message `TEXT` (repeatable)")
	f.latency = fs.Float64("latency-ms", 0, "the latency in `MILLISECONDS`")
	fs.Var(&f.inTokens, "input-tokens", "the number of input tokens, `N`")
	fs.Var(&f.outTokens, "output-tokens", "the number of output tokens, `N`")
	f.metadata = fs.String("metadata", "", "custom metadata: a JSON `OBJECT`, key order kept")
	f.storeContent = fs.Bool("store-content", false, "also store the input and output, encrypted (needs a key)")
	f.jsonl = fs.String("jsonl", "", "log one interaction per line of `FILE` (- for standard input)")
	rest, err := c.parse(fs, args)
	if err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q (text goes in --input and --output)", rest[0])
	}
	f.set = setFlags(fs)
	return f, nil
}

// interactionFlags are the flags that describe one interaction, which
// --jsonl replaces.
var interactionFlags = []string{"input", "input-file", "output", "output-file", "provider", "model",
	"conversation-id", "safety-failed", "detector", "block-reason", "alert", "latency-ms",
	"input-tokens", "output-tokens", "metadata"}

// checkJSONLAlone checks that --jsonl names a source and comes without the
// flags of a single interaction.
func (f *logFlags) checkJSONLAlone() error {
	for _, name := range interactionFlags {
		if f.set[name] {
			return usagef("--%s cannot be used with --jsonl: each line holds its own interaction", name)
		}
	}
	if *f.jsonl == "" {
		return usagef("--jsonl needs a file name, or - for standard input")
	}
	return nil
}

// interactionFromFlags checks the flags of a single interaction and builds
// it, reading --input-file and --output-file.
func (c *cli) interactionFromFlags(f *logFlags) (comply.Interaction, error) {
	set := f.set
	switch {
	case set["input"] == set["input-file"]:
		return comply.Interaction{}, usagef("give the input with exactly one of --input and --input-file")
	case set["output"] && set["output-file"]:
		return comply.Interaction{}, usagef("give the output with at most one of --output and --output-file")
	case *f.inputFile == "-" && *f.outputFile == "-":
		return comply.Interaction{}, usagef("--input-file and --output-file cannot both read standard input")
	case math.IsNaN(*f.latency) || math.IsInf(*f.latency, 0):
		return comply.Interaction{}, usagef("--latency-ms must be a finite number")
	case set["metadata"] && !isJSONObject([]byte(*f.metadata)):
		return comply.Interaction{}, usagef("--metadata must be a JSON object, e.g. '{\"user_id\": \"user-123\"}'")
	}
	in := comply.Interaction{
		Input:              *f.input,
		Output:             *f.output,
		Provider:           *f.provider,
		Model:              *f.model,
		ConversationID:     *f.conv,
		SafetyFailed:       *f.safetyFailed,
		DetectorsTriggered: f.detectors,
		BlockReason:        *f.blockReason,
		Alerts:             f.alerts,
		Latency:            line.MSDuration(*f.latency),
		InputTokens:        f.inTokens.ptr(),
		OutputTokens:       f.outTokens.ptr(),
	}
	if set["metadata"] {
		in.Metadata = json.RawMessage(*f.metadata)
	}
	var err error
	if set["input-file"] {
		if in.Input, err = c.readContent(*f.inputFile); err != nil {
			return comply.Interaction{}, err
		}
	}
	if set["output-file"] {
		if in.Output, err = c.readContent(*f.outputFile); err != nil {
			return comply.Interaction{}, err
		}
	}
	return in, nil
}

// openJSONLSource opens the --jsonl source: standard input for "-", else
// the file, with its size when it is a regular file (-1 otherwise) for the
// progress bar. done closes what it opened.
func (c *cli) openJSONLSource(name string) (src io.Reader, size int64, done func(), err error) {
	if name == "-" {
		return c.stdin, -1, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, -1, nil, err
	}
	size = -1
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, size, func() { f.Close() }, nil
}

// readContent reads a content file, or standard input for "-".
func (c *cli) readContent(name string) (string, error) {
	var r io.Reader = c.stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return "", err
		}
		defer f.Close()
		r = f
	} else {
		name = "standard input"
	}
	b, err := readAllLimit(r, maxInputFile)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	return string(b), nil
}

// readAllLimit reads r to the end, failing past limit bytes.
func readAllLimit(r io.Reader, limit int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("more than %d MiB", limit>>20)
	}
	return b, nil
}

func isJSONObject(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) > 0 && b[0] == '{' && json.Valid(b)
}

// parseJSONLLine decodes one line into an interaction.
func parseJSONLLine(b []byte) (comply.Interaction, error) {
	return comply.DecodeInteraction(b)
}

// A jsonlItem is a parsed line, or the error that ends the input.
type jsonlItem struct {
	line  int
	in    comply.Interaction
	bytes int // bytes consumed, newline included
	err   error
}

// logJSONL logs the interactions of src, one per line, in batches.
func (c *cli) logJSONL(ctx context.Context, l *comply.Logger, src io.Reader, size int64) error {
	items := make(chan jsonlItem, jsonlBatch)
	done := make(chan struct{})
	defer close(done)
	go readJSONL(src, items, done)

	out := bufio.NewWriter(c.stdout)
	bar := c.progress(size)
	defer func() {
		if bar != nil {
			bar.Finish()
		}
	}()

	batch := make([]comply.Interaction, 0, jsonlBatch)
	lines := make([]int, 0, jsonlBatch)
	nbytes := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		ids, err := l.LogBatch(ctx, batch...)
		var ie *comply.InvalidError
		if err != nil && (errors.As(err, &ie) || errors.Is(err, comply.ErrEntryTooLarge) || errors.Is(err, comply.ErrMissingMetadata)) {
			// Nothing was stored. Log the lines one by one to store those
			// before the bad one and to name it.
			ids = ids[:0]
			for i := range batch {
				id, err := l.Log(ctx, batch[i])
				if err != nil {
					c.printIDs(out, bar, ids, 0)
					return fmt.Errorf("line %d: %w", lines[i], err)
				}
				ids = append(ids, id)
			}
			err = nil
		}
		if err != nil {
			return fmt.Errorf("lines %d-%d: %w", lines[0], lines[len(lines)-1], err)
		}
		if err := c.printIDs(out, bar, ids, nbytes); err != nil {
			return err
		}
		batch, lines, nbytes = batch[:0], lines[:0], 0
		return nil
	}

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var wait <-chan time.Time
		if len(batch) > 0 {
			wait = timer.C
		}
		select {
		case it, ok := <-items:
			if !ok {
				return flush()
			}
			if it.err != nil {
				if err := flush(); err != nil {
					return err
				}
				if it.line == 0 {
					return it.err
				}
				return fmt.Errorf("line %d: %w", it.line, it.err)
			}
			if len(batch) == 0 {
				timer.Reset(jsonlWait)
			}
			batch = append(batch, it.in)
			lines = append(lines, it.line)
			nbytes += it.bytes
			if len(batch) == jsonlBatch {
				timer.Stop()
				if err := flush(); err != nil {
					return err
				}
			}
		case <-wait:
			if err := flush(); err != nil {
				return err
			}
		case <-ctx.Done():
			if err := flush(); err != nil {
				return err
			}
			return ctx.Err()
		}
	}
}

// printIDs prints the ids of a stored batch and flushes them out.
func (c *cli) printIDs(out *bufio.Writer, bar *progressbar.ProgressBar, ids []string, nbytes int) error {
	if len(ids) == 0 {
		return nil
	}
	if bar != nil && isTerminal(c.stdout) {
		bar.Clear()
	}
	for _, id := range ids {
		out.WriteString(id)
		out.WriteByte('\n')
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if bar != nil {
		if bar.GetMax64() > 0 {
			bar.Add(nbytes)
		} else {
			bar.Add(len(ids))
		}
	}
	return nil
}

// readJSONL reads lines from src and sends them, parsed, to items, ending
// with the first error. It closes items at the end of the input.
func readJSONL(src io.Reader, items chan<- jsonlItem, done <-chan struct{}) {
	defer close(items)
	send := func(it jsonlItem) bool {
		select {
		case items <- it:
			return true
		case <-done:
			return false
		}
	}
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 64<<10), maxJSONLLine)
	n := 0
	for sc.Scan() {
		n++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		in, err := parseJSONLLine(b)
		if !send(jsonlItem{line: n, in: in, bytes: len(b) + 1, err: err}) || err != nil {
			return
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			err = fmt.Errorf("longer than %d MiB", maxJSONLLine>>20)
			send(jsonlItem{line: n + 1, err: err})
			return
		}
		send(jsonlItem{err: fmt.Errorf("reading input: %w", err)})
	}
}

// progress returns a progress bar on stderr, or nil when stderr is not a
// terminal. size is the input's size in bytes, or -1 if unknown (then it
// counts entries).
func (c *cli) progress(size int64) *progressbar.ProgressBar {
	if !isTerminal(c.stderr) {
		return nil
	}
	opts := []progressbar.Option{
		progressbar.OptionSetWriter(c.stderr),
		progressbar.OptionSetDescription("logging"),
		progressbar.OptionThrottle(100 * time.Millisecond),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(false),
	}
	if size > 0 {
		opts = append(opts, progressbar.OptionShowBytes(true))
	} else {
		size = -1
		opts = append(opts, progressbar.OptionShowCount(), progressbar.OptionSetItsString("entries"), progressbar.OptionShowIts())
	}
	return progressbar.NewOptions64(size, opts...)
}
