package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/server"
	"github.com/complyhq/comply/server/auth"
)

// demoTokenName is the name of the admin token 'comply serve --demo'
// creates.
const demoTokenName = "demo-admin"

// serveDemo prepares 'comply serve --demo': a new store (a temporary
// directory unless --store names a new one) holding the demo's sample
// data, signed by a new ledger key, with the demo's encryption key for
// decryption and a new admin token, whose secret it returns.
func (c *cli) serveDemo(ctx context.Context, cfg *server.Config) (string, error) {
	dir := c.store
	if dir == defaultStore || dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "comply-demo-"); err != nil {
			return "", err
		}
	} else if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return "", usagef("--demo writes sample data into a new directory; %s is not empty (omit --store for a temporary one)", dir)
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	c.store = dir
	if _, _, err := initStore(dir); err != nil {
		return "", err
	}
	signer := filepath.Join(dir, "demo-ledger")
	if _, _, err := ledger.WriteKeyFiles(signer, "demo-ledger"); err != nil {
		return "", fmt.Errorf("demo signing key: %w", err)
	}
	cfg.SigningKey = signer + ".signer"
	d := &demo{c: c, dir: dir, out: io.Discard, keyFile: filepath.Join(dir, demoKeyFile)}
	kr, _, err := d.key()
	if err != nil {
		return "", err
	}
	if _, err := d.logAll(ctx, kr); err != nil {
		return "", err
	}
	var out, errw strings.Builder
	if code := run(ctx, []string{"--store", dir, "seal", "--signing-key", cfg.SigningKey, "--origin", "comply/demo", "--reason", "the demo's sample data"}, nil, &out, &errw); code != exitOK {
		return "", fmt.Errorf("sealing the demo data: %s", strings.TrimSpace(errw.String()))
	}
	cfg.KeyFile = d.keyFile
	cfg.InsecureNoAuth = false
	path, err := c.tokensPath(cfg.Tokens)
	if err != nil {
		return "", err
	}
	f, err := auth.OpenFile(path)
	if err != nil {
		return "", err
	}
	return f.Create(demoTokenName, auth.Admin)
}

// consoleHost returns the address to print for a browser: a listener on
// every address is reached at localhost.
func consoleHost(addr string) string {
	for _, any := range []string{"0.0.0.0:", "[::]:"} {
		if len(addr) > len(any) && addr[:len(any)] == any {
			return "localhost:" + addr[len(any):]
		}
	}
	return addr
}
