package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
)

func cmdInit(ctx context.Context, c *cli, args []string) error {
	fs := c.flagSet("init", "[DIR]", `
Create an audit log store: the directory DIR (default: --store, COMPLY_STORE
or ./audit-logs) with mode 700, and its .comply/ directory, which holds what
comply adds to the seed's files (indexes, the writer lock, the integrity
ledger). On an existing store it changes nothing and says so.

The commands that write entries (log, cleanup, proxy) refuse a store that
does not exist, so that a mistyped --store fails instead of starting a new,
empty log; 'comply init' or their --create flag creates it. 'comply seal'
never creates a store. An S3 store needs no init: comply writes under the
URL's prefix and never creates buckets.

  comply init /var/log/ai-audit
  comply --store ./audit-logs init`)
	c.storeFlag(fs)
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	spec := c.store
	switch len(rest) {
	case 0:
	case 1:
		spec = rest[0]
	default:
		return usagef("init takes at most one directory")
	}
	if spec == "" {
		return usagef("init needs a directory: comply init DIR")
	}
	dir, ok, err := storeDir(spec)
	if err != nil {
		return err
	}
	if !ok {
		return withHint(errors.New("init creates directory stores only"),
			"an S3 store needs no init: create the bucket (with Object Lock if you want WORM), and comply writes under the URL's prefix")
	}
	createdDir, createdSidecar, err := initStore(dir)
	if err != nil {
		return err
	}
	shown := termSafe(dir)
	switch {
	case createdDir:
		_, err = fmt.Fprintf(c.stdout, "created store %s (and %s)\n", shown, filepath.Join(shown, sidecarDir))
	case createdSidecar:
		_, err = fmt.Fprintf(c.stdout, "store %s: created %s in the existing directory\n", shown, filepath.Join(shown, sidecarDir))
	default:
		_, err = fmt.Fprintf(c.stdout, "store %s already exists; nothing to do\n", shown)
	}
	return err
}
