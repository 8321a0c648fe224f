package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"

	"golang.org/x/term"

	"github.com/complyhq/comply/seal"
)

func cmdKeygen(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("keygen", "[--signing --out NAME]", `
Print a new random Fernet key: 44 characters and a newline, nothing else.
The key works with AUDIT_ENCRYPTION_KEY, --key-file and the Python
library's EncryptionManager. Keep it in a secrets manager; whoever has it can
read every encrypted entry, and without it nobody can.

  export AUDIT_ENCRYPTION_KEY="$(comply keygen)"
  comply keygen > audit.key && chmod 600 audit.key

With --signing --out NAME, write instead an Ed25519 key pair for the
integrity ledger: NAME.signer (secret, mode 600; the writer signs with it,
--signing-key) and NAME.verifier (public; 'comply verify' checks with it).`)
	signing := fs.Bool("signing", false, "write a signing key pair for the integrity ledger (with --out)")
	out := fs.String("out", "", "with --signing, write `NAME`.signer and NAME.verifier")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("keygen takes no arguments")
	}
	if *signing {
		if *out == "" {
			return usagef("--signing needs --out NAME")
		}
		return c.writeSigningKeys(filepath.Base(*out), *out)
	}
	if *out != "" {
		return usagef("--out goes with --signing")
	}
	k, err := seal.GenerateKey()
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintln(c.stdout, k.Encode()); err != nil {
		return err
	}
	if isTerminal(c.stdout) {
		fmt.Fprintln(c.stderr, "comply: hint: save this key now (secrets manager, or a chmod 600 file for --key-file); it is shown only once")
	}
	return nil
}

func cmdVersion(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("version", "", "Print comply's module version (\"devel\" for a build from a work tree).")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("version takes no arguments")
	}
	_, err = fmt.Fprintf(c.stdout, "comply %s\n", version())
	return err
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" || bi.Main.Version == "(devel)" {
		return "devel"
	}
	return bi.Main.Version
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
newline separated) decrypts content written under any of them.`)
	keyFile := c.keyFileFlag(fs)
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
	kr, err := keyring(*keyFile)
	if err != nil {
		return err
	}
	pt, err := kr.Decrypt(content)
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
