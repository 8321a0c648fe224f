package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// readmePath is the README whose commands the scripts run.
const readmePath = "../../README.md"

// readmeShellLines returns the lines of the README's ```sh blocks, with
// continuation lines joined.
func readmeShellLines(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	in := false
	cont := ""
	for line := range strings.SplitSeq(string(b), "\n") {
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
		case strings.HasPrefix(line, "```"):
			in = false
		case in:
			line = cont + strings.TrimSpace(line)
			if l, ok := strings.CutSuffix(line, `\`); ok {
				cont = l
				continue
			}
			cont = ""
			out = append(out, line)
		}
	}
	return out
}

// scriptWords splits a testscript line into words as testscript does:
// spaces separate words, single quotes quote (two of them inside quotes
// make one), and $VAR stays as written.
func scriptWords(line string) []string {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for i := 0; i < len(line); i++ {
		ch := line[i]
		switch {
		case quoted && ch == '\'' && i+1 < len(line) && line[i+1] == '\'':
			w.WriteByte('\'')
			i++
		case ch == '\'':
			quoted = !quoted
			inWord = true
		case !quoted && (ch == ' ' || ch == '\t'):
			if inWord {
				words = append(words, w.String())
			}
			w.Reset()
			inWord = false
		case !quoted && ch == '#' && !inWord:
			i = len(line)
		default:
			w.WriteByte(ch)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// scriptCommands returns the comply commands that the scripts in
// testdata/script run ("exec comply ...", "! exec comply ...", in the
// foreground or the background), as words, by script name.
func scriptCommands(t *testing.T) map[string][][]string {
	t.Helper()
	files, err := filepath.Glob("testdata/script/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts in testdata/script (%v)", err)
	}
	out := map[string][][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.SplitSeq(string(b), "\n") {
			if strings.HasPrefix(line, "-- ") { // the archive's files start here
				break
			}
			words := scriptWords(line)
			for len(words) > 0 && (words[0] == "!" || words[0] == "?" || strings.HasPrefix(words[0], "[")) {
				words = words[1:]
			}
			if len(words) < 2 || words[0] != "exec" || words[1] != "comply" {
				continue
			}
			words = words[1:]
			if last := words[len(words)-1]; strings.HasPrefix(last, "&") && strings.HasSuffix(last, "&") {
				words = words[:len(words)-1]
			}
			out[filepath.Base(f)] = append(out[filepath.Base(f)], words)
		}
	}
	return out
}

// adaptable are the flags whose value a script may change from the
// README's: where the store is, and the proxy's upstream and listening
// address, which the script replaces by a local stand-in and a free port.
var adaptable = map[string]bool{"--store": true, "--upstream": true, "--listen": true}

// placeholderRE matches a placeholder in a README command (comply prove
// ID), which a script fills with a variable ($ID).
var placeholderRE = regexp.MustCompile(`^[A-Z][A-Z_]*$`)

// runsREADME reports whether script, a command a script runs, is readme
// adapted only in the values of adaptable flags and placeholders.
func runsREADME(readme, script []string) bool {
	if len(readme) != len(script) {
		return false
	}
	for i, w := range readme {
		switch {
		case w == script[i]:
		case i > 0 && adaptable[readme[i-1]]:
		case placeholderRE.MatchString(w) && strings.HasPrefix(script[i], "$"):
		default:
			return false
		}
	}
	return true
}

// TestREADMECommands checks that every comply command in the README's
// shell blocks is run by a script in testdata/script (readme.txtar runs
// them in the README's order, with assertions on what they print).
func TestREADMECommands(t *testing.T) {
	scripts := scriptCommands(t)
	n := 0
	for _, line := range readmeShellLines(t) {
		for _, words := range complyCommands(line) {
			n++
			found := false
			for _, cmds := range scripts {
				for _, s := range cmds {
					if runsREADME(words, s) {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("README command %q is run by no script in testdata/script (add it to readme.txtar)", line)
			}
		}
	}
	// A sanity check on the extraction itself.
	if n < 10 {
		t.Errorf("found %d comply commands in README.md's sh blocks, want 10 or more", n)
	}
}

func TestRunsREADME(t *testing.T) {
	for _, tt := range []struct {
		readme, script string
		want           bool
	}{
		{`comply prove ID --out proof.json`, `exec comply prove $ID --out proof.json`, true},
		{`comply --store 's3://b/p?region=x' count`, `! exec comply --store 's3://b/p?region=x' count`, true},
		{`comply proxy --listen 127.0.0.1:8787 --upstream https://api.openai.com`, `exec comply proxy --listen $ADDR --upstream $UP &proxy&`, true},
		{`comply hash --input "yes"`, `exec comply hash --input 'yes'`, true},
		{`comply hash --input "yes"`, `exec comply hash --input no`, false},
		{`comply query --since 7d`, `exec comply query --since 7d --format table`, false},
		{`comply query --since 7d`, `exec comply query --since $SINCE`, false},
	} {
		r := complyCommands(tt.readme)
		s := scriptWords(strings.TrimPrefix(strings.TrimPrefix(tt.script, "! "), "exec "))
		if l := s[len(s)-1]; strings.HasPrefix(l, "&") {
			s = s[:len(s)-1]
		}
		if len(r) != 1 {
			t.Fatalf("complyCommands(%q) = %q", tt.readme, r)
		}
		if got := runsREADME(r[0], s); got != tt.want {
			t.Errorf("runsREADME(%q, %q) = %v, want %v", tt.readme, tt.script, got, tt.want)
		}
	}
}

// cliTableRE matches a row of the README's CLI table; the first group is
// its first cell.
var cliTableRE = regexp.MustCompile("^\\| (`.*?) \\| ")

// TestREADMECLITable checks the README's CLI table against the commands:
// every command form names a command and only flags it has, and every
// command but help has a row.
func TestREADMECLITable(t *testing.T) {
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	flags := map[string]map[string]bool{}
	seen := map[string]bool{}
	for line := range strings.SplitSeq(string(b), "\n") {
		m := cliTableRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		for _, form := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(m[1], -1) {
			name, _, _ := strings.Cut(form[1], " ")
			cmd := lookup(name)
			if cmd == nil {
				t.Errorf("README CLI table: %q names no command", form[1])
				continue
			}
			seen[name] = true
			fl, ok := flags[name]
			if !ok {
				fl = parseHelp(t, name).flags
				flags[name] = fl
			}
			for _, f := range regexp.MustCompile(`--([a-z0-9-]+)`).FindAllStringSubmatch(form[1], -1) {
				if _, ok := fl[f[1]]; !ok {
					t.Errorf("README CLI table: %q: --%s is not a flag of %s", form[1], f[1], name)
				}
			}
		}
	}
	for _, cmd := range commands {
		if !seen[cmd.name] && cmd.name != "help" {
			t.Errorf("README CLI table has no row for %s", cmd.name)
		}
	}
}
