package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
)

// unknownKeyID labels entries that name no key.
const unknownKeyID = "unknown (written before key ids)"

func cmdKeys(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("keys", "[--store DIR|s3://...] [--key-file FILE | --key-source SPEC]", `
List the encryption key ids the store's entries were sealed with, and how
many entries each sealed, from each entry's metadata encryption_key_version.
Entries with content but no id (written before key ids, or by the Python
library) are counted as "`+unknownKeyID+`"; when a keyring is
given (AUDIT_ENCRYPTION_KEY, --key-file or --key-source), they are resolved
by trying its keys. With a keyring, also list the ids it holds and say which
used ids it lacks: content under those cannot be decrypted with it (exit 1).
Hash-only entries hold no content and are counted apart.

  comply keys --key-source aws-sm:prod/comply`)
	c.storeFlag(fs)
	keyFile := c.keyFileFlag(fs)
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("keys takes no arguments")
	}
	kr, err := keyring(*keyFile)
	if err != nil && !(errors.Is(err, seal.ErrNoKey) && *keyFile == "") {
		return err
	}
	l, err := c.openLogger(ctx, true, 0, nil)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	u, err := keyUsage(ctx, l, kr)
	if err != nil {
		return err
	}
	return c.printKeyUsage(u, kr)
}

// keyUse counts the entries per key id.
type keyUse struct {
	counts   map[string]int64
	hashOnly int64
}

// keyUsage counts the entries of l per key id; with kr, entries without
// an id are resolved by trying kr's keys.
func keyUsage(ctx context.Context, l *comply.Logger, kr *seal.Keyring) (*keyUse, error) {
	u := &keyUse{counts: map[string]int64{}}
	for e, err := range l.Entries(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			var ce *store.CorruptionError
			if errors.As(err, &ce) {
				continue // 'comply query' reports damaged lines
			}
			return nil, err
		}
		content := e.OutputContent
		if content == "" {
			content = e.InputContent
		}
		if content == "" {
			u.hashOnly++
			continue
		}
		id := comply.EntryKeyVersion(&e)
		if id == "" {
			id = unknownKeyID
			if kr != nil {
				if _, kid, err := kr.DecryptID(content); err == nil {
					id = kid
				}
			}
		}
		u.counts[id]++
	}
	return u, nil
}

func (c *cli) printKeyUsage(u *keyUse, kr *seal.Keyring) error {
	ids := make([]string, 0, len(u.counts))
	for id := range u.counts {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY ID\tENTRIES\tIN KEYRING")
	var missing []string
	for _, id := range ids {
		in := "-"
		if kr != nil {
			in = "no"
			if _, ok := kr.Key(id); ok {
				in = "yes"
			} else {
				missing = append(missing, id)
			}
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\n", id, u.counts[id], in)
	}
	if u.hashOnly > 0 {
		fmt.Fprintf(tw, "(hash-only, no content)\t%d\t-\n", u.hashOnly)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if kr == nil {
		return nil
	}
	held := kr.IDs()
	held[0] += " (primary)"
	fmt.Fprintf(c.stdout, "keyring: %s\n", strings.Join(held, ", "))
	if len(missing) > 0 {
		return withHint(fmt.Errorf("the keyring lacks %d key id(s) the store uses: %s", len(missing), strings.Join(missing, ", ")),
			"add the old keys after the primary (ID:KEY) to decrypt those entries")
	}
	return nil
}
