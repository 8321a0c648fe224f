package comply_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
)

const fixtures = "testdata/seed-interop"

type expectedCase struct {
	Case         string `json:"case"`
	ID           string `json:"id"`
	Input        string `json:"input"`
	Output       string `json:"output"`
	InputSHA256  string `json:"input_sha256"`
	OutputSHA256 string `json:"output_sha256"`
}

func loadExpected(t *testing.T) map[string][]expectedCase {
	t.Helper()
	var exp struct {
		Modes map[string][]expectedCase `json:"modes"`
	}
	b, err := os.ReadFile(filepath.Join(fixtures, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	return exp.Modes
}

func fixtureKeyring(t *testing.T) *seal.Keyring {
	t.Helper()
	k, err := seal.LoadKeyring(filepath.Join(fixtures, "key.txt"))
	if err != nil {
		// key.txt ships 0644 in git; read it through ParseKeyring instead.
		b, rerr := os.ReadFile(filepath.Join(fixtures, "key.txt"))
		if rerr != nil {
			t.Fatal(rerr)
		}
		if k, err = seal.ParseKeyring(string(b)); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

// copyFixture copies one of the Python library's directories into a new
// directory, as a user would point comply at it.
func copyFixture(t *testing.T, mode string) string {
	t.Helper()
	dir := t.TempDir()
	b, err := os.ReadFile(filepath.Join(fixtures, mode, "audit_20261125.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "audit_20261125.jsonl"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestReadPythonDirectories reads the directories written by the Python
// library, entry for entry: ids, hashes, every field, decrypted content.
func TestReadPythonDirectories(t *testing.T) {
	exp := loadExpected(t)
	for _, mode := range []string{"hash_only", "encrypted"} {
		t.Run(mode, func(t *testing.T) {
			dir := copyFixture(t, mode)
			raw, _ := os.ReadFile(filepath.Join(dir, "audit_20261125.jsonl"))
			l := openDir(t, dir, &comply.Options{Keyring: fixtureKeyring(t)})
			defer l.Close()
			if n, _ := l.Count(t.Context()); n != 5 {
				t.Fatalf("Count = %d, want 5", n)
			}
			lines := strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
			for i, c := range exp[mode] {
				e, err := l.Get(t.Context(), c.ID)
				if err != nil {
					t.Fatalf("%s: Get: %v", c.Case, err)
				}
				if e.InputHash != c.InputSHA256 || e.OutputHash != c.OutputSHA256 {
					t.Errorf("%s: hashes %s %s", c.Case, e.InputHash, e.OutputHash)
				}
				if l.Hash(c.Input) != c.InputSHA256 || l.Hash(c.Output) != c.OutputSHA256 {
					t.Errorf("%s: our hash of the content differs from the Python library's", c.Case)
				}
				checkFields(t, c.Case, e, lines[i])
				if mode == "encrypted" {
					in, err := l.DecryptContent(e.InputContent)
					if err != nil || in != c.Input {
						t.Errorf("%s: decrypted input %q, %v", c.Case, in, err)
					}
					out, err := l.DecryptContent(e.OutputContent)
					if err != nil || out != c.Output {
						t.Errorf("%s: decrypted output %q, %v", c.Case, out, err)
					}
				} else if e.InputContent != "" || e.OutputContent != "" {
					t.Errorf("%s: hash-only entry has content", c.Case)
				}
			}
			// A full scan reads the same five, and leaves the file as it was.
			var n int
			for _, err := range l.Entries(t.Context(), time.Time{}, time.Time{}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 5 {
				t.Fatalf("Entries yielded %d", n)
			}
			if after, _ := os.ReadFile(filepath.Join(dir, "audit_20261125.jsonl")); !bytes.Equal(after, raw) {
				t.Fatalf("reading changed the Python file")
			}
		})
	}
}

// checkFields compares every field of e with the line as encoding/json
// reads it, and the metadata byte for byte with the line's text.
func checkFields(t *testing.T, name string, e comply.Entry, line string) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	str := func(k string) string {
		var s *string
		json.Unmarshal(m[k], &s)
		if s == nil {
			return ""
		}
		return *s
	}
	pairs := [][2]string{
		{e.ID, str("id")}, {e.InputHash, str("input_hash")}, {e.OutputHash, str("output_hash")},
		{e.InputContent, str("input_content")}, {e.OutputContent, str("output_content")},
		{e.Provider, str("provider")}, {e.Model, str("model")}, {e.ConversationID, str("conversation_id")},
		{e.BlockReason, str("block_reason")},
	}
	for _, p := range pairs {
		if p[0] != p[1] {
			t.Errorf("%s: field %q, line has %q", name, p[0], p[1])
		}
	}
	ts, _ := time.Parse("2006-01-02T15:04:05.999999", str("timestamp"))
	if !e.Timestamp.Equal(ts) || e.Timestamp.Location() != time.UTC {
		t.Errorf("%s: timestamp %v, line has %v", name, e.Timestamp, ts)
	}
	var safety bool
	var lat float64
	var det, alerts []string
	var inTok, outTok *int64
	json.Unmarshal(m["safety_passed"], &safety)
	json.Unmarshal(m["latency_ms"], &lat)
	json.Unmarshal(m["detectors_triggered"], &det)
	json.Unmarshal(m["alerts"], &alerts)
	json.Unmarshal(m["input_tokens"], &inTok)
	json.Unmarshal(m["output_tokens"], &outTok)
	if e.SafetyPassed != safety || e.LatencyMS != lat || strings.Join(e.DetectorsTriggered, ",") != strings.Join(det, ",") ||
		strings.Join(e.Alerts, ",") != strings.Join(alerts, ",") || !eqp(e.InputTokens, inTok) || !eqp(e.OutputTokens, outTok) {
		t.Errorf("%s: fields differ from the line: %+v", name, e)
	}
	if !bytes.Equal(e.Metadata, m["metadata"]) {
		t.Errorf("%s: metadata %s, line has %s", name, e.Metadata, m["metadata"])
	}
	if !strings.Contains(line, `"metadata": `+string(e.Metadata)+`}`) {
		t.Errorf("%s: metadata %s is not the line's text byte for byte", name, e.Metadata)
	}
}

func eqp(a, b *int64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

func TestHashVectors(t *testing.T) {
	var vs []struct{ Content, SHA256 string }
	b, _ := os.ReadFile(filepath.Join(fixtures, "hashes.json"))
	if err := json.Unmarshal(b, &vs); err != nil || len(vs) == 0 {
		t.Fatalf("hashes.json: %v", err)
	}
	l, _ := comply.New(memStore(), nil)
	for _, v := range vs {
		if got := l.Hash(v.Content); got != v.SHA256 {
			t.Errorf("Hash(%.20q) = %s, want %s", v.Content, got, v.SHA256)
		}
	}
}

// TestPythonReadsOurDirectory writes a directory with comply, hash-only and
// encrypted, and reads it with the Python library's reading code
// (testdata/interop/pyreader.py, with the real cryptography Fernet).
func TestPythonReadsOurDirectory(t *testing.T) {
	py := pythonWithCryptography(t)
	dir := t.TempDir()
	key, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	ring := seal.NewKeyring(key)
	ins := []comply.Interaction{
		{Input: "What is 2+2?", Output: "4", Provider: "openai", Model: "gpt-4", Latency: 250500 * time.Microsecond, InputTokens: comply.Tokens(5), OutputTokens: comply.Tokens(1)},
		{Input: "Héllo wörld — 你好 😀", Output: "Привет 🎉\nline2\t\"q\" \\ </script>", ConversationID: "会话-1",
			Alerts: []string{"Ünïcødé ⚠"}, Metadata: json.RawMessage(`{"zeta": 1, "alpha": 2.0, "big": 12345678901234567890, "tiny": 1e-07, "nested": {"b": [true, null], "a": "x"}}`)},
		{Input: "How to hack a bank?", SafetyFailed: true, DetectorsTriggered: []string{"harmful_content"}, BlockReason: "Content violates safety policy", Latency: 50 * time.Millisecond,
			Metadata: map[string]any{"user_id": "user-789", "blocked_at": "input", "score": 2.0}},
		{Input: "", Output: ""},
	}
	for _, storeContent := range []bool{false, true} {
		opts := &comply.Options{Keyring: ring, StoreContent: storeContent}
		l := openDir(t, dir, opts)
		if _, err := l.LogBatch(t.Context(), ins...); err != nil {
			t.Fatal(err)
		}
		l.Close()
	}
	cmd := exec.Command(py, "testdata/interop/pyreader.py", dir)
	cmd.Env = append(os.Environ(), seal.EnvKey+"="+key.Encode())
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python reader failed: %v\n%s", err, stderr.String())
	}
	var got []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		got = append(got, m)
	}
	if len(got) != 2*len(ins) {
		t.Fatalf("python read %d entries, want %d", len(got), 2*len(ins))
	}
	for i, m := range got {
		in := ins[i%len(ins)]
		if m["in_window"] != true {
			t.Errorf("entry %d: python placed its timestamp outside the last week", i)
		}
		if i >= len(ins) {
			if m["input"] != in.Input || m["output"] != in.Output || m["hashes_match"] != true {
				t.Errorf("entry %d: python decrypted %q / %q (hashes match: %v)", i, m["input"], m["output"], m["hashes_match"])
			}
		}
	}
	if md, _ := json.Marshal(got[2]["metadata"]); !strings.Contains(string(md), `"score":2`) {
		t.Errorf("python metadata: %s", md)
	}
}

// pythonWithCryptography finds a python3 that has the cryptography package.
// The reverse interop check is part of CI, where it must not be skipped.
func pythonWithCryptography(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"python3", "/usr/bin/python3"} {
		path, err := exec.LookPath(py)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import cryptography.fernet").Run() == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no python3 with the cryptography package (apt-get install python3-cryptography)")
	}
	t.Skip("needs python3 with the cryptography package (apt-get install python3-cryptography)")
	return ""
}
