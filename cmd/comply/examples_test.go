package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
)

// This file checks that the command lines the CLI shows people (the
// examples in every command's help, and the commands the demo prints)
// parse: the command exists and every flag is one of its flags, with a
// value where it takes one. It does not run them: readme_test.go and the
// scripts in testdata/script do that for the README's commands.

// helpOf returns what 'comply NAME -h' prints.
func helpOf(t *testing.T, name string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run(t.Context(), []string{name, "-h"}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("comply %s -h: exit status %d: %s", name, code, stderr.String())
	}
	return stdout.String()
}

// A helpText is one command's help, cut into its parts.
type helpText struct {
	synopsis    string          // the Usage lines
	description string          // between the Usage lines and the flags
	flags       map[string]bool // flag name (without dashes): whether it takes a value
}

// flagLineRE matches a flag line of printFlags: "  --name" or "  --name ARG".
var flagLineRE = regexp.MustCompile(`^  --([a-z0-9-]+)( \S+)?$`)

func parseHelp(t *testing.T, name string) helpText {
	t.Helper()
	out := helpOf(t, name)
	usage, rest, ok := strings.Cut(out, "\n\n")
	if !ok || !strings.HasPrefix(usage, "Usage: comply "+name) {
		t.Fatalf("comply %s -h does not start with a Usage paragraph:\n%s", name, out)
	}
	h := helpText{synopsis: usage, flags: map[string]bool{}}
	desc, flags, _ := strings.Cut(rest, "\nFlags:\n")
	h.description = desc
	for line := range strings.SplitSeq(flags, "\n") {
		if m := flagLineRE.FindStringSubmatch(line); m != nil {
			h.flags[m[1]] = m[2] != ""
		}
	}
	return h
}

// exampleLines returns the example lines of a description: the lines
// indented by two spaces or more, with continuation lines ("\" at the end)
// joined.
func exampleLines(description string) []string {
	var out []string
	var cont string
	for line := range strings.SplitSeq(description, "\n") {
		if cont == "" && !strings.HasPrefix(line, "  ") {
			continue
		}
		line = cont + strings.TrimSpace(line)
		if l, ok := strings.CutSuffix(line, `\`); ok {
			cont = l
			continue
		}
		cont = ""
		out = append(out, line)
	}
	return out
}

// complyCommands returns the comply commands in one line of shell, as
// words with the quotes removed: each "comply ..." that starts the line or
// follows "$(", "|", "&&" or ";", up to the first unquoted | & ; < > ) or
// comment. "go run ./cmd/comply" counts as comply. Environment
// assignments before a command are not recognised.
func complyCommands(line string) [][]string {
	line = strings.ReplaceAll(line, "go run ./cmd/comply ", "comply ")
	var out [][]string
	for i := 0; i < len(line); i++ {
		if !strings.HasPrefix(line[i:], "comply ") || !commandStart(line[:i]) {
			continue
		}
		out = append(out, shellWords(line[i:]))
	}
	return out
}

// commandStart reports whether a command may start after before.
func commandStart(before string) bool {
	before = strings.TrimRight(before, " \t")
	return before == "" || strings.HasSuffix(before, "$(") || strings.HasSuffix(before, "|") ||
		strings.HasSuffix(before, "&&") || strings.HasSuffix(before, ";")
}

// shellWords splits s into words as a POSIX shell would, without
// expansions, up to the first unquoted | & ; < > ) or comment.
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord := false
	flush := func() {
		if inWord {
			words = append(words, w.String())
		}
		w.Reset()
		inWord = false
	}
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				j = len(s) - i - 1
			}
			w.WriteString(s[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case ch == '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`+"`", s[i+1]) >= 0 {
					i++
				}
				w.WriteByte(s[i])
			}
			inWord = true
		case ch == '\\' && i+1 < len(s):
			i++
			w.WriteByte(s[i])
			inWord = true
		case ch == ' ' || ch == '\t':
			flush()
		case strings.IndexByte("|&;<>)", ch) >= 0, ch == '#' && !inWord:
			flush()
			return words
		default:
			w.WriteByte(ch)
			inWord = true
		}
	}
	flush()
	return words
}

// checkParses parses words, a comply command line, as comply does: the
// global flags, the command name, then the command's flags as its help
// lists them (a flag shown with an argument takes a value), through the
// same parse function the commands use. flags caches the help of each
// command.
func checkParses(t *testing.T, words []string, flags map[string]map[string]bool) error {
	t.Helper()
	if len(words) == 0 || words[0] != "comply" {
		return fmt.Errorf("not a comply command: %q", words)
	}
	global := flag.NewFlagSet("comply", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	global.String("store", "", "")
	if err := global.Parse(words[1:]); err != nil {
		return fmt.Errorf("global flags: %w", err)
	}
	args := global.Args()
	if len(args) == 0 {
		return fmt.Errorf("no command")
	}
	cmd := lookup(args[0])
	if cmd == nil {
		return fmt.Errorf("unknown command %q", args[0])
	}
	if cmd.name == "help" {
		if len(args) > 2 || (len(args) == 2 && lookup(args[1]) == nil) {
			return fmt.Errorf("help takes at most one command name, got %q", args[1:])
		}
		return nil
	}
	fl, ok := flags[cmd.name]
	if !ok {
		fl = parseHelp(t, cmd.name).flags
		flags[cmd.name] = fl
	}
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for name, takesValue := range fl {
		if takesValue {
			fs.String(name, "", "")
		} else {
			fs.Bool(name, false, "")
		}
	}
	c := &cli{stdout: io.Discard, stderr: io.Discard}
	if _, err := c.parse(fs, args[1:]); err != nil {
		return err
	}
	return nil
}

// TestCheckParses checks the checker: a wrong flag fails it.
func TestCheckParses(t *testing.T) {
	for _, tt := range []struct {
		line string
		ok   bool
	}{
		{`comply query --since 30d --format json`, true},
		{`comply --store logs get ID --decrypt`, true},
		{`comply help query`, true},
		{`comply query --since 30d --json`, false}, // the example 'comply hash -h' once showed
		{`comply query --since`, false},            // a flag without its value
		{`comply get --decrypt=maybe ID`, false},
		{`comply nosuch`, false},
		{`comply --bogus count`, false},
		{`comply help nosuch`, false},
	} {
		cmds := complyCommands(tt.line)
		if len(cmds) != 1 {
			t.Fatalf("complyCommands(%q) = %q, want one command", tt.line, cmds)
		}
		err := checkParses(t, cmds[0], map[string]map[string]bool{})
		if (err == nil) != tt.ok {
			t.Errorf("checkParses(%q) = %v, want ok=%v", tt.line, err, tt.ok)
		}
	}
}

func TestComplyCommands(t *testing.T) {
	for _, tt := range []struct {
		line string
		want [][]string
	}{
		{`comply hash --input "yes"                      # the hash to search for`, [][]string{{"comply", "hash", "--input", "yes"}}},
		{`comply query --since 30d | grep "$(comply hash --input 'yes')"`, [][]string{
			{"comply", "query", "--since", "30d"}, {"comply", "hash", "--input", "yes"}}},
		{`export AUDIT_ENCRYPTION_KEY="$(comply keygen)"`, [][]string{{"comply", "keygen"}}},
		{`comply keygen > audit.key && chmod 600 audit.key`, [][]string{{"comply", "keygen"}}},
		{`go run ./cmd/comply demo   # logs a sample`, [][]string{{"comply", "demo"}}},
		{`comply log --input "I can't \"say\"" --metadata '{"a": 1}'`, [][]string{
			{"comply", "log", "--input", `I can't "say"`, "--metadata", `{"a": 1}`}}},
		{`OPENAI_BASE_URL=http://127.0.0.1:8787/v1 python app.py`, nil},
		{`echo comply log`, nil},
	} {
		got := complyCommands(tt.line)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) || len(got) != len(tt.want) {
			t.Errorf("complyCommands(%q) = %q, want %q", tt.line, got, tt.want)
		}
	}
}

// TestHelpExamples checks that every example in every command's help
// parses, and that every flag a synopsis names exists.
func TestHelpExamples(t *testing.T) {
	flags := map[string]map[string]bool{}
	examples := 0
	for _, cmd := range commands {
		if cmd.name == "help" { // 'comply help' is the top-level usage, which has no examples
			continue
		}
		h := parseHelp(t, cmd.name)
		flags[cmd.name] = h.flags
		for _, m := range regexp.MustCompile(`--([a-z0-9-]+)`).FindAllStringSubmatch(h.synopsis, -1) {
			if _, ok := h.flags[m[1]]; !ok {
				t.Errorf("comply %s -h: the synopsis names --%s, which is not a flag of %s", cmd.name, m[1], cmd.name)
			}
		}
		for _, line := range exampleLines(h.description) {
			for _, words := range complyCommands(line) {
				examples++
				if err := checkParses(t, words, flags); err != nil {
					t.Errorf("comply %s -h: example %q: %v", cmd.name, line, err)
				}
			}
		}
	}
	// A sanity check on the extraction: the helps hold a dozen examples.
	if examples < 10 {
		t.Errorf("found %d examples in the helps, want 10 or more", examples)
	}
}

// TestDemoCommands checks that the commands the demo prints ("$ comply
// ..." as it runs them, and the indented ones it suggests) parse.
func TestDemoCommands(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"demo", "--dir", t.TempDir()}, strings.NewReader(""), &stdout, &stderr); code != exitOK {
		t.Fatalf("demo: exit status %d: %s", code, stderr.String())
	}
	flags := map[string]map[string]bool{}
	n := 0
	for line := range strings.SplitSeq(stdout.String(), "\n") {
		if !strings.HasPrefix(line, "$ comply ") && !strings.HasPrefix(line, "  comply ") {
			continue
		}
		line = strings.TrimPrefix(strings.TrimSpace(line), "$ ")
		for _, words := range complyCommands(line) {
			n++
			if err := checkParses(t, words, flags); err != nil {
				t.Errorf("demo prints %q: %v", line, err)
			}
		}
	}
	if n < 5 {
		t.Errorf("found %d commands in the demo's output, want 5 or more", n)
	}
}
