package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/subjectkey"
)

func cmdRewrap(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("rewrap", "--to ID [--start TIME] [--end TIME] [--reason TEXT]", `
Re-encrypt the content of the entries under the key of id ID, which
becomes their encryption_key_version, one file (or S3 segment) at a
time, atomically, as retention rewrites do. The keyring (--key-file or
AUDIT_ENCRYPTION_KEY) must hold ID and the keys the entries are under
now. Entries already under ID, and entries without content, are left
as they are: a rewrap that stopped can be run again.

With an integrity ledger (--signing-key or COMPLY_SIGNING_KEY), each
rewrite is signed first (old and new leaf of every entry, and the
reason), so that 'comply verify' still passes and reports the rewrap.
The per-subject data keys of crypto-shredding (COMPLY_SUBJECT_KEY) are
re-wrapped under ID too; the content sealed under them is unchanged.
An entry whose content does not decrypt stops the rewrap before its file
is touched. On S3 with Object Lock the old object versions stay until
their retention ends.

  comply rewrap --to v2 --key-file keys.txt
  comply rewrap --to v2 --start 2026-01-01 --end 2026-06-30 --reason "key rotation"`)
	c.storeFlag(fs)
	durability := c.durabilityFlag(fs)
	signingKey := c.signingKeyFlag(fs)
	keyFile := c.keyFileFlag(fs)
	to := fs.String("to", "", "re-encrypt under the key of `ID` (required)")
	start := fs.String("start", "", "entries at or after `TIME`")
	end := fs.String("end", "", "entries at or before `TIME`")
	reason := fs.String("reason", "", "why, in the signed rewrite record (default \"rewrap to key ID\")")
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("rewrap takes no arguments")
	}
	if *to == "" {
		return usagef("rewrap needs --to ID, the id of the key to re-encrypt under")
	}
	if *reason == "" {
		*reason = "rewrap to key " + *to
	}
	var q store.Query
	if *start != "" {
		if q.Start, err = parseTime(*start, false); err != nil {
			return err
		}
	}
	if *end != "" {
		if q.End, err = parseTime(*end, true); err != nil {
			return err
		}
	}
	kr, err := keyring(*keyFile)
	if err != nil {
		return err
	}
	if _, ok := kr.Key(*to); !ok {
		return withHint(fmt.Errorf("the keyring holds no key with id %q (it holds %v)", *to, kr.IDs()),
			"add it to the keyring as ID:KEY (see 'comply keygen --id')")
	}
	dur, err := parseDurability(*durability)
	if err != nil {
		return err
	}
	l, s, err := c.openWriterStore(ctx, dur, &comply.Options{}, *signingKey)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	sg, ok1 := s.(store.Segmented)
	rw, ok2 := s.(store.Rewriter)
	if !ok1 || !ok2 {
		return errors.New("this store cannot rewrite its entries in place")
	}
	done, files, already, err := rewrapSegments(ctx, l, sg, rw, q, kr, *to, *reason, c.spinner("rewrapping"))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "rewrapped %d %s to key %s in %d %s; %d already under it or without content\n",
		done, plural(int(done), "entry", "entries"), *to, files, plural(int(files), "file", "files"), already)
	if err == nil {
		err = c.rewrapSubjectKeys(ctx, s, kr, *to)
	}
	if err == nil && done > 0 && isS3(c.store) {
		_, err = fmt.Fprintln(c.stdout, "note: on a bucket with Object Lock, the old versions of the rewritten objects stay until their retention ends")
	}
	return err
}

// rewrapSubjectKeys re-wraps the per-subject data keys (crypto-shredding)
// under the key of id to, when the store keeps any.
func (c *cli) rewrapSubjectKeys(ctx context.Context, s store.Store, kr *seal.Keyring, to string) error {
	ds, ok := s.(subjectkey.Store)
	if !ok {
		return nil
	}
	done, already, err := subjectkey.Rewrap(ctx, ds, kr, to)
	if err != nil || done+already == 0 {
		return err
	}
	_, err = fmt.Fprintf(c.stdout, "re-wrapped %d subject %s under key %s; %d already under it\n",
		done, plural(done, "key", "keys"), to, already)
	return err
}

// rewrapSegments rewraps the entries of q segment by segment, through the
// ledger when the Logger has one, and calls stop when done.
func rewrapSegments(ctx context.Context, l *comply.Logger, sg store.Segmented, rw store.Rewriter, q store.Query,
	kr *seal.Keyring, to, reason string, stop func()) (done, files, already int64, err error) {
	defer stop()
	segs, err := sg.Segments(ctx, q)
	if err != nil {
		return 0, 0, 0, err
	}
	fn := func(r store.Record) ([]byte, bool, error) {
		if !q.Contains(r.Time) {
			return nil, false, nil
		}
		nl, changed, err := comply.RewrapLine(kr, to, r.Line)
		if err == nil && !changed {
			already++
		}
		return nl, changed, err
	}
	for _, g := range segs {
		var n int64
		if lg := l.Ledger(); lg != nil {
			n, err = lg.Rewrite(ctx, g.Name, reason, fn)
		} else {
			n, err = rw.Rewrite(ctx, g.Name, fn)
		}
		if err != nil {
			return done, files, already, fmt.Errorf("rewrap %s (after %d entries rewrapped): %w", g.Name, done, err)
		}
		if n > 0 {
			done += n
			files++
		}
	}
	return done, files, already, nil
}

// isS3 reports whether the store spec names an S3 store (not a directory).
func isS3(spec string) bool {
	_, dir, _ := storeDir(spec)
	return !dir
}
