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
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/complyhq/comply"
)

// Bulk logging: at most jsonlBatch lines per LogBatch call, and a line
// waits at most jsonlWait before its batch is stored.
const (
	jsonlBatch   = 1000
	jsonlWait    = 50 * time.Millisecond
	maxJSONLLine = 64 << 20
	maxInputFile = 256 << 20
)

func cmdLog(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("log", "[flags] (--input TEXT | --input-file FILE) [--output TEXT | --output-file FILE]\n       comply log [flags] --jsonl FILE|-", `
Record one interaction and print its id once it is durable.

Only SHA-256 hashes of the input and output are stored, unless
--store-content is given: then the content is also stored, encrypted with the
key from AUDIT_ENCRYPTION_KEY or --key-file. Content is taken byte for byte
(a file's trailing newline is part of it).

With --jsonl, log one interaction per line of FILE (- for standard input):
a JSON object with the keyword arguments of the Python library's log():
input, output, provider, model, conversation_id, safety_passed (default
true), detectors_triggered, block_reason, alerts, latency_ms, input_tokens,
output_tokens, metadata. The ids are printed one per line, in input order,
each once its entry is durable. A bad line stops the run with an error that
names it; the lines before it are stored and their ids printed.

  comply log --input "What is the weather today?" --output "I can't say." \
      --provider openai --model gpt-4 --latency-ms 150 \
      --metadata '{"user_id": "user-123"}'`)
	c.storeFlag(fs)
	durability := c.durabilityFlag(fs)
	signingKey := c.signingKeyFlag(fs)
	keyFile := c.keyFileFlag(fs)
	input := fs.String("input", "", "the input: the prompt or request `TEXT`")
	inputFile := fs.String("input-file", "", "read the input from `FILE` (- for standard input)")
	output := fs.String("output", "", "the output: the response `TEXT` (empty for a blocked request)")
	outputFile := fs.String("output-file", "", "read the output from `FILE` (- for standard input)")
	provider := fs.String("provider", "", "the provider `NAME`, e.g. openai")
	model := fs.String("model", "", "the model `NAME`, e.g. gpt-4")
	conv := fs.String("conversation-id", "", "the `ID` that links the turns of a conversation")
	safetyFailed := fs.Bool("safety-failed", false, "the safety checks failed or the request was blocked")
	var detectors, alerts stringList
	fs.Var(&detectors, "detector", "the `NAME` of a detector that fired (repeatable)")
	blockReason := fs.String("block-reason", "", "why the request was blocked, as `TEXT`")
	fs.Var(&alerts, "alert", "an alert: a warning message `TEXT` (repeatable)")
	latency := fs.Float64("latency-ms", 0, "the latency in `MILLISECONDS`")
	var inTokens, outTokens optInt
	fs.Var(&inTokens, "input-tokens", "the number of input tokens, `N`")
	fs.Var(&outTokens, "output-tokens", "the number of output tokens, `N`")
	metadata := fs.String("metadata", "", "custom metadata: a JSON `OBJECT`, key order kept")
	storeContent := fs.Bool("store-content", false, "also store the input and output, encrypted (needs a key)")
	jsonl := fs.String("jsonl", "", "log one interaction per line of `FILE` (- for standard input)")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q (text goes in --input and --output)", rest[0])
	}
	set := setFlags(fs)
	dur, err := parseDurability(*durability)
	if err != nil {
		return err
	}

	var in comply.Interaction
	if set["jsonl"] {
		for _, name := range []string{"input", "input-file", "output", "output-file", "provider", "model",
			"conversation-id", "safety-failed", "detector", "block-reason", "alert", "latency-ms",
			"input-tokens", "output-tokens", "metadata"} {
			if set[name] {
				return usagef("--%s cannot be used with --jsonl: each line holds its own interaction", name)
			}
		}
		if *jsonl == "" {
			return usagef("--jsonl needs a file name, or - for standard input")
		}
	} else {
		if set["input"] == set["input-file"] {
			return usagef("give the input with exactly one of --input and --input-file")
		}
		if set["output"] && set["output-file"] {
			return usagef("give the output with at most one of --output and --output-file")
		}
		if *inputFile == "-" && *outputFile == "-" {
			return usagef("--input-file and --output-file cannot both read standard input")
		}
		if math.IsNaN(*latency) || math.IsInf(*latency, 0) {
			return usagef("--latency-ms must be a finite number")
		}
		if set["metadata"] && !isJSONObject([]byte(*metadata)) {
			return usagef("--metadata must be a JSON object, e.g. '{\"user_id\": \"user-123\"}'")
		}
		in = comply.Interaction{
			Input:              *input,
			Output:             *output,
			Provider:           *provider,
			Model:              *model,
			ConversationID:     *conv,
			SafetyFailed:       *safetyFailed,
			DetectorsTriggered: detectors,
			BlockReason:        *blockReason,
			Alerts:             alerts,
			Latency:            msDuration(*latency),
			InputTokens:        inTokens.ptr(),
			OutputTokens:       outTokens.ptr(),
		}
		if set["metadata"] {
			in.Metadata = json.RawMessage(*metadata)
		}
		if set["input-file"] {
			if in.Input, err = c.readContent(*inputFile); err != nil {
				return err
			}
		}
		if set["output-file"] {
			if in.Output, err = c.readContent(*outputFile); err != nil {
				return err
			}
		}
	}

	opts, err := writerOptions(*storeContent, *keyFile)
	if err != nil {
		return err
	}

	var src io.Reader
	var srcSize int64 = -1
	if set["jsonl"] {
		if *jsonl == "-" {
			src = c.stdin
		} else {
			f, err := os.Open(*jsonl)
			if err != nil {
				return err
			}
			defer f.Close()
			if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
				srcSize = fi.Size()
			}
			src = f
		}
	}

	l, err := c.openWriter(ctx, dur, opts, *signingKey)
	if err != nil {
		return err
	}
	defer closeLogger(l, &err)
	if set["jsonl"] {
		return c.logJSONL(ctx, l, src, srcSize)
	}
	id, err := l.Log(ctx, in)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.stdout, id)
	return err
}

// msDuration converts milliseconds to a duration, saturating.
func msDuration(ms float64) time.Duration {
	d := ms * float64(time.Millisecond)
	switch {
	case d >= math.MaxInt64:
		return math.MaxInt64
	case d <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(d)
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

// jsonlLine is one line of log --jsonl: the seed's log() keyword arguments.
type jsonlLine struct {
	Input              *string         `json:"input"`
	Output             *string         `json:"output"`
	Provider           *string         `json:"provider"`
	Model              *string         `json:"model"`
	ConversationID     *string         `json:"conversation_id"`
	SafetyPassed       *bool           `json:"safety_passed"`
	DetectorsTriggered []string        `json:"detectors_triggered"`
	BlockReason        *string         `json:"block_reason"`
	Alerts             []string        `json:"alerts"`
	LatencyMS          *float64        `json:"latency_ms"`
	InputTokens        *int            `json:"input_tokens"`
	OutputTokens       *int            `json:"output_tokens"`
	Metadata           json.RawMessage `json:"metadata"`
}

// parseJSONLLine decodes one line into an interaction.
func parseJSONLLine(b []byte) (comply.Interaction, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || b[0] != '{' {
		return comply.Interaction{}, errors.New("want a JSON object")
	}
	var l jsonlLine
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &te) && te.Field != "":
			return comply.Interaction{}, fmt.Errorf("key %q: want %s, got a JSON %s", te.Field, jsonType(te.Type.String()), te.Value)
		case errors.As(err, &se):
			return comply.Interaction{}, fmt.Errorf("invalid JSON at column %d: %v", se.Offset, err)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return comply.Interaction{}, fmt.Errorf("unknown key %s (want the keyword arguments of log(): input, output, provider, model, conversation_id, safety_passed, detectors_triggered, block_reason, alerts, latency_ms, input_tokens, output_tokens, metadata)",
				strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return comply.Interaction{}, fmt.Errorf("invalid JSON: %v", strings.TrimPrefix(err.Error(), "json: "))
	}
	if _, err := dec.Token(); err != io.EOF {
		return comply.Interaction{}, errors.New("invalid JSON: more than one value on the line")
	}
	if l.Input == nil {
		return comply.Interaction{}, errors.New(`missing key "input"`)
	}
	in := comply.Interaction{
		Input:              *l.Input,
		Output:             deref(l.Output),
		Provider:           deref(l.Provider),
		Model:              deref(l.Model),
		ConversationID:     deref(l.ConversationID),
		SafetyFailed:       l.SafetyPassed != nil && !*l.SafetyPassed,
		DetectorsTriggered: l.DetectorsTriggered,
		BlockReason:        deref(l.BlockReason),
		Alerts:             l.Alerts,
		InputTokens:        l.InputTokens,
		OutputTokens:       l.OutputTokens,
	}
	if l.LatencyMS != nil {
		in.Latency = msDuration(*l.LatencyMS)
	}
	if md := bytes.TrimSpace(l.Metadata); len(md) > 0 && string(md) != "null" {
		if md[0] != '{' {
			return comply.Interaction{}, errors.New(`key "metadata": want a JSON object`)
		}
		in.Metadata = json.RawMessage(md)
	}
	return in, nil
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "an array of strings"
	case strings.Contains(goType, "string"):
		return "a string or null"
	case strings.Contains(goType, "bool"):
		return "true or false"
	case strings.Contains(goType, "float"):
		return "a number"
	case strings.Contains(goType, "int"):
		return "an integer"
	}
	return goType
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
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
		if err != nil && (errors.As(err, &ie) || errors.Is(err, comply.ErrEntryTooLarge)) {
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
