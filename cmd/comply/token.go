package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/complyhq/comply/server/auth"
)

// envTokens names the tokens file.
const envTokens = "COMPLY_TOKENS"

// tokensFile is the name of the tokens file in a directory store's
// .comply/ (not under blobs/, which the store and its ledger own).
const tokensFile = "tokens.json"

// tokensPath returns the path of the tokens file: flagValue (--tokens) if
// set, else COMPLY_TOKENS, else DIR/.comply/tokens.json for a directory
// store DIR, which must exist. An S3 store has no default: the tokens of
// a server are a local file, so the error asks for --tokens.
func (c *cli) tokensPath(flagValue string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	if env := os.Getenv(envTokens); env != "" {
		return env, nil
	}
	dir, ok, err := storeDir(c.store)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", withHint(errors.New("no tokens file: a store that is not a directory has no default one"),
			"pass --tokens FILE or set "+envTokens+" (a local file, mode 600, that every server of the store is given)")
	}
	if err := checkStoreDir(dir, false); err != nil {
		return "", err
	}
	return filepath.Join(dir, sidecarDir, tokensFile), nil
}

// tokensFlag adds --tokens.
func (c *cli) tokensFlag(fs *flag.FlagSet) *string {
	return fs.String("tokens", "", "the tokens `FILE` (env "+envTokens+"; default DIR/.comply/tokens.json for a directory store)")
}

func cmdToken(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("token", "create --name NAME --role ROLE | list [--json] | revoke NAME", `
Manage the bearer tokens of 'comply serve'. A token has a name and a role:
ingest (write entries), read (query, get, stats, proofs), decrypt (read, and
decrypt content) or admin (everything, and the access log).

  create   makes a token and prints its secret on stdout, once: only its
           SHA-256 is kept, so it cannot be shown again (revoke it and
           create another if it is lost). Clients send it in the header
           Authorization: Bearer SECRET.
  list     prints each token's name, role and creation time (never a
           secret nor a hash); --json prints a JSON array.
  revoke   removes a token; a running server stops accepting it within a
           second, without a restart.

The tokens file is --tokens, else COMPLY_TOKENS, else .comply/tokens.json in
the store's directory; an S3 store needs --tokens. These commands edit only
that file (mode 600; its group and others may not write it): they work
while a server runs on the store.

Examples:
  comply token create --name ci --role ingest
  comply token list
  comply token revoke ci`)
	c.storeFlag(fs)
	file := c.tokensFlag(fs)
	name := fs.String("name", "", "the token's `NAME`: 1 to 64 letters, digits, '.', '_' or '-'")
	role := fs.String("role", "", "the token's `ROLE`: ingest, read, decrypt or admin")
	asJSON := fs.Bool("json", false, "list as a JSON array")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		return usagef("token needs a subcommand: create, list or revoke")
	}
	sub, rest := rest[0], rest[1:]
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	allowed := map[string][]string{"create": {"name", "role"}, "list": {"json"}, "revoke": nil}
	only, ok := allowed[sub]
	if !ok {
		return usagef("token: unknown subcommand %q: want create, list or revoke", sub)
	}
	for _, f := range []string{"name", "role", "json"} {
		if set[f] && !slices.Contains(only, f) {
			return usagef("token %s takes no --%s", sub, f)
		}
	}
	path, err := c.tokensPath(*file)
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		if len(rest) > 0 {
			return usagef("token create takes no arguments (give --name NAME --role ROLE)")
		}
		if *name == "" || *role == "" {
			return usagef("token create needs --name NAME and --role ROLE")
		}
		return c.tokenCreate(path, *name, *role)
	case "list":
		if len(rest) > 0 {
			return usagef("token list takes no arguments")
		}
		return c.tokenList(path, *asJSON)
	default: // revoke
		if len(rest) != 1 {
			return usagef("token revoke takes one token NAME")
		}
		f, err := auth.OpenFile(path)
		if err != nil {
			return err
		}
		if err := f.Revoke(rest[0]); err != nil {
			return err
		}
		fmt.Fprintf(c.stderr, "comply: revoked token %s; a running server stops accepting it within a second\n", termSafe(rest[0]))
		return nil
	}
}

// tokenCreate creates the token and prints its secret on stdout, alone on
// its line, and how to use it on stderr.
func (c *cli) tokenCreate(path, name, roleName string) error {
	role, err := auth.ParseRole(roleName)
	if err != nil {
		return usagef("--role: %v", err)
	}
	if err := auth.CheckName(name); err != nil {
		return usagef("--name: %v", err)
	}
	f, err := auth.OpenFile(path)
	if err != nil {
		return err
	}
	secret, err := f.Create(name, role)
	if err != nil {
		return err
	}
	fmt.Fprintln(c.stdout, secret)
	fmt.Fprintf(c.stderr, "comply: created token %s (role %s) in %s\n", name, role, termSafe(path))
	fmt.Fprintln(c.stderr, "comply: its secret is shown once, above, and kept nowhere: store it now")
	fmt.Fprintln(c.stderr, "comply: clients send it in the header  Authorization: Bearer <secret>")
	return nil
}

// tokenList prints the tokens: a table, or a JSON array.
func (c *cli) tokenList(path string, asJSON bool) error {
	f, err := auth.OpenFile(path)
	if err != nil {
		return err
	}
	tokens, err := f.List()
	if err != nil {
		return err
	}
	if asJSON {
		if tokens == nil {
			tokens = []auth.Token{}
		}
		b, err := json.MarshalIndent(tokens, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(c.stdout, "%s\n", b)
		return err
	}
	if len(tokens) == 0 {
		fmt.Fprintf(c.stderr, "comply: no tokens in %s; 'comply token create --name NAME --role ROLE' makes one\n", termSafe(path))
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
	for _, t := range tokens {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Role, t.Created.UTC().Format(time.RFC3339))
	}
	return tw.Flush()
}
