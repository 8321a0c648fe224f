package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		// As main: SIGINT and SIGTERM cancel the context (kill -INT in a
		// script stops a proxy gracefully).
		"comply": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
			stop()
			os.Exit(code)
		},
	})
}

// seedDir holds the files written by the Python reference library.
const seedDir = "../../testdata/seed-interop"

// TestScript runs the scripts in testdata/script. Each starts with a copy of
// the seed fixtures in $WORK/seed (hash_only/, encrypted/, key.txt with
// mode 600) and their key in $SEED_KEY. Besides the standard commands:
//
//	capture VAR [N]  sets $VAR to line N (default 1) of the last stdout
//	lines N          checks that the last stdout has exactly N lines
//	match VAR RE     sets $VAR to the first submatch of RE in the last stdout
//	freeport VAR     sets $VAR to HOST:PORT, a free TCP port on 127.0.0.1
//	upstream VAR     starts a local stand-in for the OpenAI API; $VAR is its URL
//	chat BASEURL     sends one OpenAI chat completion to BASEURL, as an app
//	                 using the OpenAI SDK would, and checks the answer
func TestScript(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:   "testdata/script",
		Setup: setupScript,
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"capture":  cmdCapture,
			"lines":    cmdLines,
			"match":    cmdMatch,
			"freeport": cmdFreeport,
			"upstream": cmdUpstream,
			"chat":     cmdChat,
			"http":     cmdHTTP,
		},
	})
}

func setupScript(env *testscript.Env) error {
	dst := filepath.Join(env.WorkDir, "seed")
	for _, f := range []string{"hash_only/audit_20261125.jsonl", "encrypted/audit_20261125.jsonl", "key.txt"} {
		b, err := os.ReadFile(filepath.Join(seedDir, f))
		if err != nil {
			return err
		}
		p := filepath.Join(dst, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		mode := os.FileMode(0o644)
		if f == "key.txt" {
			mode = 0o600
			env.Setenv("SEED_KEY", strings.TrimSpace(string(b)))
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			return err
		}
	}
	return nil
}

func stdoutLines(ts *testscript.TestScript) []string {
	out := strings.TrimSuffix(ts.ReadFile("stdout"), "\n")
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

func cmdCapture(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: capture VAR [N]")
	}
	n := 1
	if len(args) == 2 {
		var err error
		if n, err = strconv.Atoi(args[1]); err != nil || n < 1 {
			ts.Fatalf("capture: bad line number %q", args[1])
		}
	}
	lines := stdoutLines(ts)
	if n > len(lines) {
		ts.Fatalf("capture: stdout has %d lines, want line %d", len(lines), n)
	}
	ts.Setenv(args[0], strings.TrimSpace(lines[n-1]))
}

func cmdMatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: match VAR REGEXP")
	}
	re, err := regexp.Compile(args[1])
	ts.Check(err)
	m := re.FindStringSubmatch(ts.ReadFile("stdout"))
	if len(m) < 2 {
		ts.Fatalf("match: no match for %q (with a submatch) in stdout", args[1])
	}
	ts.Setenv(args[0], m[1])
}

func cmdLines(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: lines N")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil {
		ts.Fatalf("lines: bad count %q", args[0])
	}
	if got := len(stdoutLines(ts)); got != want {
		ts.Fatalf("stdout has %d lines, want %d", got, want)
	}
}

func TestParseSince(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1h", time.Hour, true},
		{"90m", 90 * time.Minute, true},
		{"36h", 36 * time.Hour, true},
		{"1h30m", 90 * time.Minute, true},
		{"7d", 7 * 24 * time.Hour, true},
		{"1d", 24 * time.Hour, true},
		{"1.5d", 36 * time.Hour, true},
		{"1d12h", 36 * time.Hour, true},
		{" 2d ", 48 * time.Hour, true},
		{"500ms", 500 * time.Millisecond, true},
		{"", 0, false},
		{"0", 0, false},
		{"0d", 0, false},
		{"-1h", 0, false},
		{"-7d", 0, false},
		{"+1h", 0, false},
		{"7", 0, false},
		{"d", 0, false},
		{"7days", 0, false},
		{"1e3d", 0, false},
		{"nand", 0, false},
		{"1d-1h", 0, false},
		{"3x", 0, false},
		{"99999d", 0, false},
	} {
		got, err := parseSince(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSince(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseTime(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	for _, tt := range []struct {
		in   string
		end  bool
		want time.Time
		ok   bool
	}{
		{"2026-11-25T17:38:41Z", false, utc("2026-11-25T17:38:41Z"), true},
		{"2026-11-25T17:38:41.5Z", false, utc("2026-11-25T17:38:41.5Z"), true},
		{"2026-11-25T19:38:41+02:00", false, utc("2026-11-25T17:38:41Z"), true},
		{"2026-11-25T17:38:41.537070", false, utc("2026-11-25T17:38:41.53707Z"), true}, // the seed's naive form: UTC
		{"2026-11-25T17:38:41", false, utc("2026-11-25T17:38:41Z"), true},
		{"2026-11-25 17:38:41.537070", false, utc("2026-11-25T17:38:41.53707Z"), true}, // Python's str(datetime)
		{"2026-11-25T17:38", false, utc("2026-11-25T17:38:00Z"), true},
		{"2026-11-25", false, utc("2026-11-25T00:00:00Z"), true},
		{"2026-11-25", true, utc("2026-11-25T23:59:59.999999999Z"), true}, // --end includes the whole day
		{" 2026-11-25 ", false, utc("2026-11-25T00:00:00Z"), true},
		{"", false, time.Time{}, false},
		{"yesterday", false, time.Time{}, false},
		{"2026-13-01", false, time.Time{}, false},
		{"2026-11-25T25:00:00", false, time.Time{}, false},
		{"25/11/2026", false, time.Time{}, false},
		{"1700000000", false, time.Time{}, false},
	} {
		got, err := parseTime(tt.in, tt.end)
		if (err == nil) != tt.ok || !got.Equal(tt.want) {
			t.Errorf("parseTime(%q, %v) = %v, %v; want %v, ok=%v", tt.in, tt.end, got, err, tt.want, tt.ok)
		}
		if err == nil && got.Location() != time.UTC {
			t.Errorf("parseTime(%q) is in %v, want UTC", tt.in, got.Location())
		}
	}
}

func TestTimeRange(t *testing.T) {
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	s, e, err := timeRange("7d", "", "", now)
	if err != nil || !s.Equal(now.AddDate(0, 0, -7)) || !e.IsZero() {
		t.Errorf("timeRange(7d) = %v, %v, %v", s, e, err)
	}
	for _, bad := range [][3]string{
		{"1h", "2026-11-01", ""},         // --since and --start
		{"", "2026-11-25", "2026-11-24"}, // end before start
		{"soon", "", ""},
	} {
		if _, _, err := timeRange(bad[0], bad[1], bad[2], now); err == nil {
			t.Errorf("timeRange(%q) succeeded", bad)
		} else if _, ok := err.(*usageError); !ok {
			t.Errorf("timeRange(%q) error %T is not a usage error", bad, err)
		}
	}
}

func TestPyFloat(t *testing.T) {
	for f, want := range map[float64]string{
		0: "0.0", 12: "12.0", 250.5: "250.5", 1234: "1234.0", 1e-07: "1e-07",
		1e16: "1e+16", 1.5e300: "1.5e+300", 0.0001: "0.0001", -3: "-3.0",
	} {
		if got := pyFloat(f); got != want {
			t.Errorf("pyFloat(%v) = %q, want %q", f, got, want)
		}
	}
}

func TestDemo(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	start := time.Now()
	code := run(context.Background(), []string{"demo", "--dir", dir}, strings.NewReader(""), &stdout, &stderr)
	if code != 0 {
		t.Fatalf("demo exit status %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("demo took %v", d)
	}
	files, err := filepath.Glob(filepath.Join(dir, "audit_*.jsonl"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no audit_*.jsonl files in %s (%v)", dir, err)
	}
	fi, err := os.Stat(filepath.Join(dir, demoKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("demo key mode %v, want 0600", fi.Mode().Perm())
	}
	key, _ := os.ReadFile(filepath.Join(dir, demoKeyFile))
	out := stdout.String()
	if k := strings.TrimSpace(string(key)); k == "" || strings.Contains(out, k) || strings.Contains(stderr.String(), k) {
		t.Errorf("the demo printed its key")
	}
	for _, want := range []string{
		"audit_", "Summarize the quarterly report", // decrypted by get --decrypt
		"conv-support-7f3a", "FAILED", "total entries", "deleted 3 expired entries",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("stdout:\n%s\nstderr:\n%s", out, stderr.String())
	}

	// A second run into the same directory reuses the key, so the first
	// run's encrypted entries stay readable.
	stdout.Reset()
	if code := run(context.Background(), []string{"demo", "--dir", dir}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("second demo exit status %d\n%s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "Reusing the demo key") {
		t.Errorf("second demo did not reuse the key")
	}
}

// TestLogJSONLPrompt checks that log --jsonl prints each id soon after its
// line arrives, without waiting for a full batch or the end of the input.
func TestLogJSONLPrompt(t *testing.T) {
	dir := t.TempDir()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	var stderr bytes.Buffer
	code := make(chan int, 1)
	go func() {
		code <- run(context.Background(), []string{"--store", dir, "log", "--jsonl", "-"}, inR, outW, &stderr)
		outW.Close()
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var ids []string
	for i := range 3 {
		fmt.Fprintf(inW, `{"input": "question %d", "provider": "p%d"}`+"\n", i, i)
		select {
		case id := <-lines:
			ids = append(ids, id)
		case <-time.After(10 * time.Second):
			t.Fatalf("no id printed for line %d while the input stays open", i+1)
		}
	}
	inW.Close()
	if c := <-code; c != 0 {
		t.Fatalf("exit status %d: %s", c, stderr.String())
	}
	if _, ok := <-lines; ok {
		t.Errorf("more output after the last id")
	}
	for i, id := range ids {
		var out bytes.Buffer
		if c := run(context.Background(), []string{"--store", dir, "get", id}, nil, &out, &stderr); c != 0 {
			t.Fatalf("get %s: exit status %d: %s", id, c, stderr.String())
		}
		if want := fmt.Sprintf(`"provider": "p%d"`, i); !strings.Contains(out.String(), want) {
			t.Errorf("id %d: entry lacks %s", i+1, want)
		}
	}
}

// TestLogJSONLRejected checks a line that parses but that the Logger
// rejects (too large once encrypted): the lines before it in the same batch
// are stored and their ids printed, and the error names the line.
func TestLogJSONLRejected(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "key")
	var key bytes.Buffer
	if c := run(context.Background(), []string{"keygen"}, nil, &key, io.Discard); c != 0 {
		t.Fatal("keygen failed")
	}
	if err := os.WriteFile(keyFile, key.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	big := strings.Repeat("x", 2<<20)
	input := fmt.Sprintf("{\"input\": \"a\"}\n{\"input\": \"b\"}\n{\"input\": %q}\n{\"input\": \"d\"}\n", big)
	var stdout, stderr bytes.Buffer
	c := run(context.Background(), []string{"--store", dir, "log", "--store-content", "--key-file", keyFile, "--jsonl", "-"},
		strings.NewReader(input), &stdout, &stderr)
	if c != 1 {
		t.Fatalf("exit status %d, want 1; stderr: %s", c, stderr.String())
	}
	if n := strings.Count(stdout.String(), "\n"); n != 2 {
		t.Errorf("%d ids printed, want 2:\n%s", n, stdout.String())
	}
	if !strings.Contains(stderr.String(), "comply: error: line 3: ") || !strings.Contains(stderr.String(), "entry too large") {
		t.Errorf("stderr = %q, want an error naming line 3", stderr.String())
	}
	var count bytes.Buffer
	run(context.Background(), []string{"--store", dir, "count"}, nil, &count, &stderr)
	if got := strings.TrimSpace(count.String()); got != "2" {
		t.Errorf("count = %s, want 2", got)
	}
}
