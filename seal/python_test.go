package seal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// pythonScript runs in python3 with the cryptography package. The key
// arrives in the environment, the data on stdin as JSON, and the results
// leave on stdout as JSON; nothing secret is printed.
//
// "decrypt": stored strings in, base64 of the plaintext bytes out, each
// decrypted exactly as rotalabs_comply's EncryptionManager does.
// "encrypt": base64 of plaintext bytes in, stored strings out.
const pythonScript = `
import base64, json, os, sys
from cryptography.fernet import Fernet
f = Fernet(os.environ["SEAL_TEST_FERNET_KEY"].encode())
req = json.load(sys.stdin)
if req["op"] == "decrypt":
    out = [base64.b64encode(f.decrypt(base64.urlsafe_b64decode(s))).decode() for s in req["data"]]
else:
    out = [base64.urlsafe_b64encode(f.encrypt(base64.b64decode(p))).decode() for p in req["data"]]
json.dump(out, sys.stdout)
`

// python returns a python3 that can import cryptography. Without one the
// test fails on CI (CI=true) and is skipped elsewhere.
func python(t *testing.T) string {
	t.Helper()
	missing := func(why string) {
		msg := "cannot cross-check with Python: " + why +
			"; install python3 and its cryptography package (apt-get install python3-cryptography, or pip install cryptography)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	py, err := exec.LookPath("python3")
	if err != nil {
		missing("python3 is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, py, "-c", "import cryptography.fernet").CombinedOutput(); err != nil {
		missing("python3 cannot import cryptography.fernet: " + strings.TrimSpace(string(out)))
	}
	return py
}

// runPython runs pythonScript with op over data and returns its output.
func runPython(t *testing.T, py string, k Key, op string, data []string) []string {
	t.Helper()
	req, err := json.Marshal(map[string]any{"op": op, "data": data})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-c", pythonScript)
	cmd.Env = append(os.Environ(), "SEAL_TEST_FERNET_KEY="+k.Encode())
	cmd.Stdin = bytes.NewReader(req)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		// Python's traceback shows code and exception text, not the
		// environment; make sure anyway.
		msg := strings.ReplaceAll(stderr.String(), k.Encode(), "<key>")
		t.Fatalf("python3 %s: %v\n%s", op, err, msg)
	}
	var out []string
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("python3 %s: bad output: %v", op, err)
	}
	if len(out) != len(data) {
		t.Fatalf("python3 %s: %d results for %d inputs", op, len(out), len(data))
	}
	return out
}

func TestPythonInterop(t *testing.T) {
	py := python(t)
	k := mustGenerate(t)
	ring := NewKeyring(k)
	plaintexts := []string{
		"",
		"x",
		"What is 2+2?",
		"Héllo wörld — 你好，世界 😀 𝄞",
		"control \x00\x01\x1f and \u2028 line separator\n\ttab \"quotes\" \\",
		strings.Repeat("0123456789abcdef", 1) + "!",
		strings.Repeat("long prompt ", 500),
	}

	t.Run("Go encrypts, Python decrypts", func(t *testing.T) {
		stored := make([]string, len(plaintexts))
		for i, p := range plaintexts {
			s, err := ring.Encrypt([]byte(p))
			if err != nil {
				t.Fatal(err)
			}
			stored[i] = s
		}
		got := runPython(t, py, k, "decrypt", stored)
		for i, g := range got {
			b, err := base64.StdEncoding.DecodeString(g)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != plaintexts[i] {
				t.Errorf("plaintext %d: Python decrypted %q, want %q", i, b, plaintexts[i])
			}
		}
	})

	t.Run("Python encrypts, Go decrypts", func(t *testing.T) {
		in := make([]string, len(plaintexts))
		for i, p := range plaintexts {
			in[i] = base64.StdEncoding.EncodeToString([]byte(p))
		}
		stored := runPython(t, py, k, "encrypt", in)
		for i, s := range stored {
			got, err := ring.Decrypt(s)
			if err != nil {
				t.Fatalf("plaintext %d: %v", i, err)
			}
			if string(got) != plaintexts[i] {
				t.Errorf("plaintext %d: Go decrypted %q, want %q", i, got, plaintexts[i])
			}
			// The bare token Python's Fernet returns works too.
			inner, err := base64.URLEncoding.DecodeString(s)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := ring.Decrypt(string(inner)); err != nil || string(got) != plaintexts[i] {
				t.Errorf("plaintext %d as a bare token: %q, %v", i, got, err)
			}
		}
	})
}
