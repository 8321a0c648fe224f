package ledger

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/complyhq/comply/store"
)

// ErrTampered is wrapped by the errors of a writer that finds its own
// integrity data inconsistent: leaf tiles that do not produce the signed
// root, a checkpoint its own key does not verify. Run Verify to see what
// changed.
var ErrTampered = errors.New("ledger integrity data does not match its signed checkpoint")

// listSlugs returns the slugs of the ledgers in the sidecar, sorted.
func listSlugs(ctx context.Context, sc store.Sidecar) ([]string, error) {
	names, err := sc.ListBlobs(ctx, blobRoot)
	if err != nil {
		return nil, err
	}
	var slugs []string
	for _, n := range names {
		rest := strings.TrimPrefix(n, blobRoot)
		slug, _, ok := strings.Cut(rest, "/")
		if ok && (len(slugs) == 0 || slugs[len(slugs)-1] != slug) {
			slugs = append(slugs, slug)
		}
	}
	slices.Sort(slugs)
	return slices.Compact(slugs), nil
}

// readLeaves reads the first n leaves of a ledger from its tiles. Tiles
// beyond those needed are not read: they may hold leaves that no
// checkpoint signed yet.
func readLeaves(ctx context.Context, sc store.Sidecar, slug string, n uint64) ([]Leaf, error) {
	leaves := make([]Leaf, 0, n)
	for t := uint64(0); uint64(len(leaves)) < n; t++ {
		name := tileBlob(slug, t)
		b, err := sc.ReadBlob(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return leaves, fmt.Errorf("leaf tile %s is missing: the checkpoint covers %d leaves, the tiles before it hold %d", name, n, len(leaves))
		}
		if err != nil {
			return leaves, err
		}
		want := min(uint64(TileSize), n-uint64(len(leaves)))
		before := len(leaves)
		leaves, err = appendTile(leaves, b, int(want))
		if err != nil {
			return leaves[:before], fmt.Errorf("%s: %w", name, err)
		}
		if got := uint64(len(leaves) - before); got < want {
			return leaves[:before], fmt.Errorf("leaf tile %s holds %d leaves, the checkpoint needs %d of it", name, got, want)
		}
	}
	return leaves, nil
}

// readHistory returns the signed checkpoints of a ledger's history blobs,
// in blob order, each with the name of its blob.
func readHistory(ctx context.Context, sc store.Sidecar, slug string) (notes [][]byte, blobs []string, err error) {
	names, err := sc.ListBlobs(ctx, prefixOf(slug)+historyDir)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, name := range names {
		b, err := sc.ReadBlob(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		ns, err := splitNotes(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		for _, n := range ns {
			notes = append(notes, n)
			blobs = append(blobs, name)
		}
	}
	return notes, blobs, errors.Join(errs...)
}
