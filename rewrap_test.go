package comply_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
)

func TestRewrapLine(t *testing.T) {
	k1, _ := seal.GenerateKey()
	k2, _ := seal.GenerateKey()
	v1, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v1", Key: k1})
	both, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v2", Key: k2}, seal.NamedKey{ID: "v1", Key: k1})
	only2, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v2", Key: k2})
	noIDs := seal.NewKeyring(k1) // entries from before key ids
	ident, err := seal.GenerateIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	sealedTo := &comply.Options{SealTo: ident.SealingKey(), StoreContent: true}
	line := func(kr *seal.Keyring, in comply.Interaction, opts ...*comply.Options) []byte {
		o := &comply.Options{Keyring: kr, StoreContent: kr != nil}
		if len(opts) > 0 {
			o = opts[0]
		}
		l := newLogger(t, o)
		id, err := l.Log(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := l.Store().Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Line
	}
	tests := []struct {
		name    string
		kr      *seal.Keyring // decrypts and encrypts
		line    []byte
		changed bool
		err     bool
	}{
		{"v1 to v2", both, line(v1, comply.Interaction{Input: "secret in", Output: "secret out", Metadata: map[string]any{"user_id": "u-1"}}), true, false},
		{"already v2", both, line(only2, comply.Interaction{Input: "secret in", Output: "secret out"}), false, false},
		{"no content", both, line(nil, comply.Interaction{Input: "secret in", Output: "secret out"}), false, false},
		{"written before key ids", both, line(noIDs, comply.Interaction{Input: "secret in", Output: "secret out"}), true, false},
		{"sealed to a public key", both, line(nil, comply.Interaction{Input: "secret in", Output: "secret out"}, sealedTo), false, false},
		{"old key missing", only2, line(v1, comply.Interaction{Input: "secret in", Output: "secret out"}), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, changed, err := comply.RewrapLine(tt.kr, "v2", tt.line)
			if tt.err {
				if !errors.Is(err, comply.ErrRewrap) || strings.Contains(err.Error(), "secret") || strings.Contains(err.Error(), k1.Encode()) {
					t.Fatalf("err = %v, want ErrRewrap without content or key", err)
				}
				return
			}
			if err != nil || changed != tt.changed {
				t.Fatalf("RewrapLine = %v, %v; want changed %v", changed, err, tt.changed)
			}
			if !changed {
				if !bytes.Equal(out, tt.line) {
					t.Fatal("an unchanged line was altered")
				}
				return
			}
			var e struct {
				InputContent  string          `json:"input_content"`
				OutputContent string          `json:"output_content"`
				Metadata      json.RawMessage `json:"metadata"`
			}
			if err := json.Unmarshal(out, &e); err != nil {
				t.Fatal(err)
			}
			if v := comply.EntryKeyVersion(&comply.Entry{Metadata: e.Metadata}); v != "v2" {
				t.Fatalf("key version %q", v)
			}
			// The new key alone reads it, in Go and in Python.
			for _, f := range []string{e.InputContent, e.OutputContent} {
				if _, err := only2.DecryptWith("v2", f); err != nil {
					t.Fatal(err)
				}
			}
			pythonDecrypts(t, k2, e.InputContent, "secret in")
			// Every field but the content and metadata is byte for byte.
			var a, b map[string]json.RawMessage
			json.Unmarshal(tt.line, &a)
			json.Unmarshal(out, &b)
			for k, v := range a {
				if k != "input_content" && k != "output_content" && k != "metadata" && !bytes.Equal(v, b[k]) {
					t.Errorf("%s changed: %s -> %s", k, v, b[k])
				}
			}
		})
	}
	if _, _, err := comply.RewrapLine(both, "v9", tests[0].line); !errors.Is(err, comply.ErrRewrap) {
		t.Errorf("rewrap to an unknown id: %v", err)
	}
}

// pythonDecrypts checks that the Python library's reading (base64, then
// Fernet) of stored gives want, when python3 with cryptography is here.
func pythonDecrypts(t *testing.T, k seal.Key, stored, want string) {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Log("python3 not found: no Python cross-check")
		return
	}
	script := `import base64, os, sys
from cryptography.fernet import Fernet
f = Fernet(os.environ["K"].encode())
sys.stdout.write(base64.b64encode(f.decrypt(base64.urlsafe_b64decode(sys.stdin.read()))).decode())`
	if exec.Command(py, "-c", "import cryptography.fernet").Run() != nil {
		t.Log("python3 lacks cryptography: no Python cross-check")
		return
	}
	cmd := exec.CommandContext(t.Context(), py, "-c", script)
	cmd.Env = append(os.Environ(), "K="+k.Encode())
	cmd.Stdin = strings.NewReader(stored)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python3 cannot decrypt the rewrapped content: %v", err)
	}
	got, _ := base64.StdEncoding.DecodeString(string(out))
	if string(got) != want {
		t.Fatalf("python3 decrypted %q, want %q", got, want)
	}
}
