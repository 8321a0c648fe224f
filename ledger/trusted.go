package ledger

import (
	"context"
	"fmt"
	"maps"
	"slices"

	"github.com/complyhq/comply/store"
)

// Origins returns the origins of the ledgers in a store's sidecar, read
// from their latest checkpoints without checking signatures, sorted.
func Origins(ctx context.Context, sc store.Sidecar) ([]string, error) {
	slugs, err := listSlugs(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	var origins []string
	for _, slug := range slugs {
		b, err := sc.ReadBlob(ctx, latestBlob(slug))
		if err != nil {
			origins = append(origins, slug) // no checkpoint: name it by its slug
			continue
		}
		text, _ := noteText(b)
		if c, err := ParseCheckpoint(text); err == nil {
			origins = append(origins, c.Origin)
		} else {
			origins = append(origins, slug)
		}
	}
	slices.Sort(origins)
	return slices.Compact(origins), nil
}

// ParseTrusted parses a file of trusted checkpoints, as FormatTrusted
// writes it: signed checkpoint notes one after the other. Signatures are
// not checked here (Verify checks them).
func ParseTrusted(b []byte) (map[string][]byte, error) {
	notes, err := splitNotes(b)
	if err != nil {
		return nil, fmt.Errorf("ledger: trusted checkpoints: %w", err)
	}
	m := make(map[string][]byte, len(notes))
	for _, n := range notes {
		text, _ := noteText(n)
		c, err := ParseCheckpoint(text)
		if err != nil {
			return nil, fmt.Errorf("ledger: trusted checkpoints: %w", err)
		}
		if _, dup := m[c.Origin]; dup {
			return nil, fmt.Errorf("ledger: trusted checkpoints: two of origin %q", c.Origin)
		}
		m[c.Origin] = n
	}
	return m, nil
}

// FormatTrusted returns the trusted checkpoints one after the other, by
// origin.
func FormatTrusted(m map[string][]byte) []byte {
	var out []byte
	for _, o := range slices.Sorted(maps.Keys(m)) {
		out = append(out, m[o]...)
	}
	return out
}
