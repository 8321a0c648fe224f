package comply_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/memstore"
	"golang.org/x/mod/sumdb/note"
)

// policyOf parses a policy or fails the test.
func policyOf(t *testing.T, y string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(y))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

var (
	idField      = regexp.MustCompile(`"id": "[0-9a-f-]{36}"`)
	contentField = regexp.MustCompile(`"(input|output)_content": "[^"]+"`)
)

// rawLine logs in with opts and returns its stored line, id and sealed
// content masked, or "" for an interaction that got no entry.
func rawLine(t *testing.T, opts *comply.Options, in comply.Interaction) (string, error) {
	t.Helper()
	ms := memstore.New(0)
	opts.Now = func() time.Time { return time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC) }
	l, err := comply.New(ms, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	id, err := l.Log(t.Context(), in)
	if err != nil || id == "" {
		return "", err
	}
	rec, err := ms.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	s := idField.ReplaceAllString(string(rec.Line), `"id": "ID"`)
	return contentField.ReplaceAllString(s, `"${1}_content": "SEALED"`), nil
}

const goldenPolicy = `
default: {level: hash, require: [user_id], missing: flag}
rules:
  - {name: quiet, match: {metadata: {team: quiet}}, level: none}
  - {name: meta, match: {provider: anthropic}, level: metadata}
  - {name: keyed, match: {model: "gpt-4*"}, level: keyed-hash}
  - {name: sealed, match: {route: "proxy/*"}, level: encrypted, max_content_bytes: 2}
  - {name: strict, match: {provider: strict}, require: [user_id, session_id], missing: reject}
`

func TestPolicyLevelLines(t *testing.T) {
	k, _ := seal.GenerateKey()
	hkey := []byte("0123456789abcdef0123456789abcdef")
	const prefix = `{"id": "ID", "timestamp": "2026-11-30T10:00:00", `
	in := func(provider, model string, md string) comply.Interaction {
		return comply.Interaction{Input: "hello", Output: "héllo world", Provider: provider, Model: model, Metadata: json.RawMessage(md)}
	}
	tests := []struct {
		name  string
		route string
		in    comply.Interaction
		want  string
	}{
		{"none", "", in("openai", "o1", `{"team": "quiet", "user_id": "u"}`), ""},
		{"metadata", "", in("anthropic", "claude", `{"user_id": "u"}`),
			prefix + `"input_hash": "", "output_hash": "", "input_content": null, "output_content": null, "provider": "anthropic", "model": "claude", "conversation_id": null, "safety_passed": true, "detectors_triggered": [], "block_reason": null, "alerts": [], "latency_ms": 0.0, "input_tokens": null, "output_tokens": null, "metadata": {"user_id": "u"}}`},
		{"hash, flagged", "", in("openai", "o1", `{}`),
			prefix + `"input_hash": "` + sha("hello") + `", "output_hash": "` + sha("héllo world") + `", "input_content": null, "output_content": null, "provider": "openai", "model": "o1", "conversation_id": null, "safety_passed": true, "detectors_triggered": [], "block_reason": null, "alerts": ["missing required metadata: user_id"], "latency_ms": 0.0, "input_tokens": null, "output_tokens": null, "metadata": {}}`},
		{"keyed-hash", "", in("openai", "gpt-4o", `{"user_id": "u"}`),
			prefix + `"input_hash": "` + comply.HashHMAC(hkey, "hello") + `", "output_hash": "` + comply.HashHMAC(hkey, "héllo world") + `", "input_content": null, "output_content": null, "provider": "openai", "model": "gpt-4o", "conversation_id": null, "safety_passed": true, "detectors_triggered": [], "block_reason": null, "alerts": [], "latency_ms": 0.0, "input_tokens": null, "output_tokens": null, "metadata": {"user_id": "u"}}`},
		{"encrypted, truncated", "proxy/openai", in("openai", "o1", `{"user_id": "u"}`),
			prefix + `"input_hash": "` + comply.HashHMAC(hkey, "hello") + `", "output_hash": "` + comply.HashHMAC(hkey, "héllo world") + `", "input_content": "SEALED", "output_content": "SEALED", "provider": "openai", "model": "o1", "conversation_id": null, "safety_passed": true, "detectors_triggered": [], "block_reason": null, "alerts": ["content truncated by policy rule sealed to 2 bytes"], "latency_ms": 0.0, "input_tokens": null, "output_tokens": null, "metadata": {"user_id": "u", "encryption_key_version": "` + seal.KeyID(k) + `", "truncated": {"input": 5, "output": 12}}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := &comply.Options{Policy: policyOf(t, goldenPolicy), Keyring: seal.NewKeyring(k)}
			if tt.name != "hash, flagged" && tt.name != "metadata" {
				opts.HashKey = hkey
			}
			ms := memstore.New(0)
			opts.Now = func() time.Time { return time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC) }
			l, err := comply.New(ms, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			ctx := t.Context()
			if tt.route != "" {
				ctx = comply.WithRoute(ctx, tt.route)
			}
			id, err := l.Log(ctx, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			got := ""
			if id != "" {
				rec, err := ms.Get(t.Context(), id)
				if err != nil {
					t.Fatal(err)
				}
				got = contentField.ReplaceAllString(idField.ReplaceAllString(string(rec.Line), `"id": "ID"`), `"${1}_content": "SEALED"`)
			}
			if got != tt.want {
				t.Errorf("line\n got %s\nwant %s", got, tt.want)
			}
			if tt.name == "encrypted, truncated" {
				e, _ := l.Get(t.Context(), id)
				in, err1 := l.DecryptContent(e.InputContent)
				out, err2 := l.DecryptContent(e.OutputContent)
				if in != "he" || out != "h" || err1 != nil || err2 != nil { // "é" is bytes 1-2: cut before it
					t.Errorf("stored content %q %q (%v, %v), want at most 2 bytes, cut at a rune boundary", in, out, err1, err2)
				}
			}
		})
	}
}

func TestPolicyRefusals(t *testing.T) {
	k, _ := seal.GenerateKey()
	tests := []struct {
		name    string
		policy  string
		opts    comply.Options
		in      comply.Interaction
		wantErr error
		missing []string
	}{
		{"reject missing keys", "default: {require: [user_id, session_id], missing: reject}", comply.Options{},
			comply.Interaction{Input: "x", Metadata: map[string]any{"user_id": "u"}}, comply.ErrMissingMetadata, []string{"session_id"}},
		{"keyed-hash without a key", "default: {level: keyed-hash}", comply.Options{},
			comply.Interaction{Input: "x"}, comply.ErrNoHashKey, nil},
		{"encrypted without a keyring", "default: {level: encrypted}", comply.Options{HashKey: []byte("k")},
			comply.Interaction{Input: "x"}, comply.ErrNoEncryption, nil},
		{"rule encrypted without a keyring", "rules: [{name: r, match: {provider: p}, level: encrypted}]", comply.Options{},
			comply.Interaction{Input: "x", Provider: "p"}, comply.ErrNoEncryption, nil},
		{"reject is not flag", "default: {require: [user_id], missing: reject, level: encrypted}", comply.Options{Keyring: seal.NewKeyring(k)},
			comply.Interaction{Input: "x"}, comply.ErrMissingMetadata, []string{"user_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := tt.opts
			opts.Policy = policyOf(t, tt.policy)
			ms := memstore.New(0)
			l, err := comply.New(ms, &opts)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			id, err := l.Log(t.Context(), tt.in)
			var pe *comply.PolicyError
			if !errors.As(err, &pe) || !errors.Is(err, tt.wantErr) || id != "" {
				t.Fatalf("Log = %q, %v; want a *PolicyError wrapping %v", id, err, tt.wantErr)
			}
			if strings.Join(pe.Missing, ",") != strings.Join(tt.missing, ",") {
				t.Errorf("missing %v, want %v", pe.Missing, tt.missing)
			}
			if n, _ := l.Count(t.Context()); n != 0 {
				t.Errorf("%d entries stored after a refusal", n)
			}
		})
	}
}

func TestPolicyNoneIsCounted(t *testing.T) {
	ms := memstore.New(0)
	now := time.Date(2026, 11, 30, 10, 30, 0, 0, time.UTC)
	l, err := comply.New(ms, &comply.Options{Policy: policyOf(t, "rules: [{name: off, match: {route: otlp}, level: none}]"), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ctx := comply.WithRoute(t.Context(), "otlp")
	ids, err := l.LogBatch(ctx, comply.Interaction{Input: "a"}, comply.Interaction{Input: "b"})
	if err != nil || len(ids) != 2 || ids[0] != "" || ids[1] != "" {
		t.Fatalf("LogBatch = %q, %v; want two empty ids", ids, err)
	}
	if id, err := l.Log(t.Context(), comply.Interaction{Input: "c"}); err != nil || id == "" {
		t.Fatalf("another route: %q, %v; want an entry", id, err)
	}
	if _, err := l.Log(ctx, comply.Interaction{Input: "d"}); err != nil {
		t.Fatal(err)
	}
	counts, err := policy.ReadCounts(t.Context(), ms, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	want := []policy.Count{{Hour: time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC), Rule: "off", Count: 3}}
	if len(counts) != 1 || counts[0] != want[0] {
		t.Errorf("counts %+v, want %+v", counts, want)
	}
	if n, _ := l.Count(t.Context()); n != 1 {
		t.Errorf("%d entries, want 1", n)
	}
}

func TestPolicyUnsetLevelKeepsStoreContent(t *testing.T) {
	k, _ := seal.GenerateKey()
	line, err := rawLine(t, &comply.Options{Keyring: seal.NewKeyring(k), StoreContent: true, Policy: policyOf(t, "default: {require: [user_id]}")},
		comply.Interaction{Input: "x", Metadata: map[string]any{"user_id": "u"}})
	if err != nil || !strings.Contains(line, `"input_content": "SEALED"`) {
		t.Fatalf("line %s, %v; want sealed content", line, err)
	}
}

func TestPolicyRecords(t *testing.T) {
	dir := t.TempDir()
	skey, vkey, err := ledger.GenerateKey("policytest")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := ledger.NewSigner(skey)
	verifier, _ := ledger.NewVerifier(vkey)
	steps := []struct {
		name   string
		policy string // "" for none
		want   int    // records after opening
	}{
		{"no policy, none recorded", "", 0},
		{"first policy", "default: {level: metadata}", 1},
		{"unchanged", "default: {level: metadata}", 1},
		{"same decisions, other spelling", "default: {level: metadata, missing: flag}", 1},
		{"changed", "default: {level: hash}", 2},
		{"policy removed", "", 3},
		{"still none", "", 3},
	}
	for _, s := range steps {
		opts := &comply.Options{}
		if s.policy != "" {
			opts.Policy = policyOf(t, s.policy)
		}
		fs, err := filestore.Open(t.Context(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		l, err := comply.NewWithIntegrity(t.Context(), fs, opts, &comply.IntegrityOptions{Signer: signer, Origin: "comply/test"})
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if _, err := l.Log(t.Context(), comply.Interaction{Input: s.name}); err != nil {
			t.Fatal(err)
		}
		recs, err := l.Ledger().Policies(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) != s.want {
			t.Fatalf("%s: %d policy records, want %d", s.name, len(recs), s.want)
		}
		if s.want > 0 && recs[len(recs)-1].Text != l.PolicyText() {
			t.Errorf("%s: last record %q, want %q", s.name, recs[len(recs)-1].Text, l.PolicyText())
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	fs, err := filestore.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fs.Close()
	recs, err := ledger.Policies(t.Context(), fs, "comply/test", note.VerifierList(verifier))
	if err != nil || len(recs) != 3 || recs[2].Text != "null" || recs[0].Size > recs[1].Size {
		t.Fatalf("Policies = %+v, %v", recs, err)
	}
}

// TestPythonReadsPolicyLines: the lines of every level load in the seed's
// AuditEntry and round-trip through Python's json, the "truncated"
// metadata included.
func TestPythonReadsPolicyLines(t *testing.T) {
	py := pythonWithCryptography(t)
	dir := t.TempDir()
	key, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	p := policyOf(t, `
default: {require: [user_id]}
rules:
  - {name: meta, match: {provider: meta}, level: metadata}
  - {name: sealed, match: {provider: sealed}, level: encrypted, max_content_bytes: 3}
`)
	l := openDir(t, dir, &comply.Options{Keyring: seal.NewKeyring(key), Policy: p})
	ins := []comply.Interaction{
		{Input: "hello", Output: "world", Provider: "meta", Metadata: map[string]any{"user_id": "u"}},
		{Input: "hello", Output: "world", Provider: "other"},
		{Input: "héllo", Output: "wörld", Provider: "sealed", Metadata: json.RawMessage(`{"user_id": "u", "n": 2.0}`)},
	}
	if _, err := l.LogBatch(t.Context(), ins...); err != nil {
		t.Fatal(err)
	}
	l.Close()
	cmd := exec.Command(py, "testdata/interop/pyreader.py", dir)
	cmd.Env = append(os.Environ(), seal.EnvKey+"="+key.Encode())
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("python reader failed: %v\n%s", err, ee.Stderr)
		}
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != len(ins) {
		t.Fatalf("python read %d entries, want %d:\n%s", len(lines), len(ins), out)
	}
	var sealed struct {
		Input, Output string
		Metadata      map[string]any
	}
	if err := json.Unmarshal([]byte(lines[2]), &sealed); err != nil {
		t.Fatal(err)
	}
	if sealed.Input != "hé" || sealed.Output != "wö" || sealed.Metadata["truncated"] == nil {
		t.Errorf("python read the sealed entry as %+v", sealed)
	}
}
