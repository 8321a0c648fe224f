package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/term"

	"github.com/complyhq/comply/internal/keyfile"
	"github.com/complyhq/comply/seal"
)

func cmdKeygen(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("keygen", "[--id ID | --sealing [--pq] --out NAME | --signing --out NAME | --hash --out FILE]", `
Print a new random Fernet key: 44 characters and a newline, nothing else.
With --id ID, print "ID:KEY" instead: a keyring entry with that id (1 to 64
of A-Z a-z 0-9 . _ -), which entries sealed with it record in their metadata
as encryption_key_version. Put the new line first to rotate:
The key works with AUDIT_ENCRYPTION_KEY, --key-file and the Python
library's EncryptionManager. Keep it in a secrets manager; whoever has it can
read every encrypted entry, and without it nobody can.

  export AUDIT_ENCRYPTION_KEY="$(comply keygen)"
  comply keygen > audit.key && chmod 600 audit.key
  { comply keygen --id v2; cat audit.key; } > new.key && chmod 600 new.key

With --sealing --out NAME, write instead an HPKE key pair for sealing
content to a public key: NAME.pub (public; writers seal with it, --seal-to,
and cannot read what they wrote) and NAME.key (secret, mode 600; readers open
with it, --identity). X25519 by default; --pq makes an ML-KEM-768 + X25519
hybrid. Sealed content is comply's own form: the Python library cannot read
it (docs/keys.md).

With --signing --out NAME, write instead an Ed25519 key pair for the
integrity ledger: NAME.signer (secret, mode 600; the writer signs with it,
--signing-key) and NAME.verifier (public; 'comply verify' checks with it).

With --hash --out FILE, write instead a content-hash key to FILE (mode 600):
64 hex characters (32 random bytes) and a newline. A writer given it
(--hash-key-file FILE or COMPLY_HASH_KEY_FILE) stores keyed hashes,
"hmac-sha256:" and hex, which cannot be reversed by guessing without the
key. The key is the file's contents without surrounding whitespace, used
as the bytes they are (not decoded from hex), so any secret text file
works the same way.

  comply keygen --hash --out audit.hashkey
  comply log --hash-key-file audit.hashkey --input "yes"`)
	signing := fs.Bool("signing", false, "write a signing key pair for the integrity ledger (with --out)")
	sealing := fs.Bool("sealing", false, "write an HPKE key pair for sealing content to a public key (with --out)")
	pq := fs.Bool("pq", false, "with --sealing, a post-quantum hybrid key pair (ML-KEM-768 + X25519)")
	hash := fs.Bool("hash", false, "write a content-hash (HMAC) key (with --out)")
	id := fs.String("id", "", "print the key as `ID`:KEY, a named keyring entry")
	out := fs.String("out", "", "with --signing, write `NAME`.signer and NAME.verifier; with --hash, write the file NAME")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("keygen takes no arguments")
	}
	if *signing && *hash {
		return usagef("--signing and --hash write different keys: give one of them")
	}
	if *sealing {
		if *signing || *hash || *id != "" {
			return usagef("--sealing writes its own key pair: give it without --signing, --hash or --id")
		}
		if *out == "" {
			return usagef("--sealing needs --out NAME")
		}
		return c.writeSealingKeys(*out, *pq)
	}
	if *pq {
		return usagef("--pq goes with --sealing")
	}
	if *id != "" && (*signing || *hash) {
		return usagef("--id names a Fernet key; --signing and --hash keys take none")
	}
	if *hash {
		if *out == "" {
			return usagef("--hash needs --out FILE")
		}
		return c.writeHashKey(*out)
	}
	if *signing {
		if *out == "" {
			return usagef("--signing needs --out NAME")
		}
		return c.writeSigningKeys(filepath.Base(*out), *out)
	}
	if *out != "" {
		return usagef("--out goes with --sealing, --signing or --hash")
	}
	if *id != "" && !seal.ValidKeyID(*id) {
		return usagef("--id must be 1 to 64 characters of A-Z a-z 0-9 . _ -")
	}
	k, err := seal.GenerateKey()
	if err != nil {
		return err
	}
	text := k.Encode()
	if *id != "" {
		text = *id + ":" + text
	}
	if _, err := fmt.Fprintln(c.stdout, text); err != nil {
		return err
	}
	if isTerminal(c.stdout) {
		fmt.Fprintln(c.stderr, "comply: hint: save this key now (secrets manager, or a chmod 600 file for --key-file); it is shown only once")
	}
	return nil
}

// writeSealingKeys writes a new HPKE key pair to name.pub and name.key.
func (c *cli) writeSealingKeys(name string, pq bool) error {
	id, err := seal.GenerateIdentity(pq)
	if err != nil {
		return err
	}
	if err := seal.WriteSealingFiles(name, id); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return withHint(err, "choose another --out, or move the old key pair away first")
		}
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "wrote %s.pub (public, key id %s: writers seal with it, --seal-to)\nwrote %s.key (secret: readers open with it, --identity; keep it mode 600)\n", name, id.ID(), name)
	return err
}

// hashKeySize is the number of random bytes of a content-hash key.
const hashKeySize = 32

// writeHashKey writes a new content-hash key to path, mode 600, as hex and
// a newline. It never overwrites a file.
func (c *cli) writeHashKey(path string) error {
	raw := make([]byte, hashKeySize)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	text := []byte(hex.EncodeToString(raw) + "\n")
	clear(raw)
	defer clear(text)
	err := keyfile.WriteNew(path, text, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return withHint(fmt.Errorf("hash key %s: %w", path, fs.ErrExist),
			"choose another --out, or move the old key away first: a new key changes every hash written from then on")
	}
	if err != nil {
		return fmt.Errorf("hash key: %w", err)
	}
	_, err = fmt.Fprintf(c.stdout, "wrote %s (secret: the content-hash key for --hash-key-file or %s; keep it mode 600)\n", path, envHashKeyFile)
	return err
}

func cmdVersion(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("version", "", `
Print comply's module version and, when the build recorded them, the
version control revision it was built from, the revision's time, whether
the work tree had local changes, and the Go version. A build from a work
tree (go build, go run) has the version "(devel)"; 'go install
github.com/complyhq/comply/cmd/comply@VERSION' records the version. Also
'comply --version'.`)
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("version takes no arguments")
	}
	bi, _ := debug.ReadBuildInfo()
	_, err = io.WriteString(c.stdout, versionText(bi))
	return err
}

// versionText describes the build: "comply VERSION" on the first line,
// then one line per piece of build information recorded (revision, time,
// modified, go). bi may be nil (a binary built without module support).
func versionText(bi *debug.BuildInfo) string {
	v := "(devel)"
	if bi != nil && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	var b strings.Builder
	fmt.Fprintf(&b, "comply %s\n", v)
	if bi == nil {
		return b.String()
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	for _, kv := range [][2]string{
		{"revision", settings["vcs.revision"]},
		{"time", settings["vcs.time"]},
		{"modified", settings["vcs.modified"]},
		{"go", bi.GoVersion},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&b, "%-9s %s\n", kv[0]+":", kv[1])
		}
	}
	return b.String()
}

// isTerminal reports whether w is a terminal.
func isTerminal(w any) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func cmdDecrypt(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("decrypt", "[--key-file FILE] CONTENT|-", `
Decrypt an encrypted content field (input_content or output_content of an
entry, as 'comply get' prints it) and print the plaintext followed by a
newline. "-" reads the content from standard input. The key comes from
AUDIT_ENCRYPTION_KEY or --key-file; a keyring of several keys (comma or
newline separated) decrypts content written under any of them. Content sealed
to a public key ("hpke1." ...) opens only with its private key: --identity.`)
	keyFile := c.keyFileFlag(fs)
	identity := c.identityFlag(fs)
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) != 1 {
		return usagef("decrypt takes one argument: the content, or - for standard input")
	}
	content := rest[0]
	if content == "-" {
		b, err := readAllLimit(c.stdin, 256<<20)
		if err != nil {
			return fmt.Errorf("reading standard input: %w", err)
		}
		content = string(b)
	}
	content = strings.TrimSpace(content)
	var pt []byte
	if seal.IsSealed(content) {
		if *identity == "" {
			return withHint(fmt.Errorf("the content is %w", seal.ErrNeedsIdentity), "give the private key with --identity NAME.key")
		}
		id, err := seal.LoadIdentity(*identity)
		if err != nil {
			return err
		}
		pt, err = id.Open(content)
		if err != nil {
			return decryptError("the content", err)
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", pt)
		return err
	}
	kr, err := keyring(*keyFile)
	if err != nil {
		return err
	}
	pt, err = kr.Decrypt(content)
	if err != nil {
		return decryptError("the content", err)
	}
	_, err = fmt.Fprintf(c.stdout, "%s\n", pt)
	return err
}

// decryptError words a decryption failure of what, without the library's
// package prefixes. Like the library's errors, it never quotes key material
// or content.
func decryptError(what string, err error) error {
	msg := err.Error()
	for {
		trimmed := msg
		for _, p := range []string{"comply: ", "seal: ", "decrypt: "} {
			trimmed = strings.TrimPrefix(trimmed, p)
		}
		if trimmed == msg {
			break
		}
		msg = trimmed
	}
	return &wrapMsg{msg: "cannot decrypt " + what + ": " + msg, err: err}
}

// wrapMsg is an error with its own message that still wraps err.
type wrapMsg struct {
	msg string
	err error
}

func (e *wrapMsg) Error() string { return e.msg }
func (e *wrapMsg) Unwrap() error { return e.err }
