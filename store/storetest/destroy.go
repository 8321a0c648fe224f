package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/complyhq/comply/store"
)

// The rule of store.Destroyer.

// checkDestroy: a destroyable blob reads back, DestroyBlob removes it (and
// it stays gone), destroying a missing blob is not an error, other blobs
// stay, and CreateDestroyableBlob creates a blob once and never replaces
// it.
func checkDestroy(t *testing.T, h Harness) error {
	s := open(t, h)
	d, ok1 := s.(store.Destroyer)
	sc, ok2 := s.(store.Sidecar)
	if !ok1 || !ok2 {
		return fmt.Errorf("%w: not a store.Destroyer", ErrSkip)
	}
	ctx := t.Context()
	if err := d.WriteDestroyableBlob(ctx, "subjects/x/keys/a", []byte("wrapped a")); err != nil {
		return fmt.Errorf("WriteDestroyableBlob: %w", err)
	}
	if err := d.WriteDestroyableBlob(ctx, "subjects/x/keys/ab", []byte("wrapped ab")); err != nil {
		return fmt.Errorf("WriteDestroyableBlob: %w", err)
	}
	if b, err := sc.ReadBlob(ctx, "subjects/x/keys/a"); err != nil || string(b) != "wrapped a" {
		return fmt.Errorf("ReadBlob of a destroyable blob: %q, %v", b, err)
	}
	if err := d.DestroyBlob(ctx, "subjects/x/keys/a"); err != nil {
		return fmt.Errorf("DestroyBlob: %w", err)
	}
	if _, err := sc.ReadBlob(ctx, "subjects/x/keys/a"); !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("ReadBlob after DestroyBlob: %v, want ErrNotFound", err)
	}
	if names, err := sc.ListBlobs(ctx, "subjects/x/keys/"); err != nil || len(names) != 1 || names[0] != "subjects/x/keys/ab" {
		return fmt.Errorf("ListBlobs after DestroyBlob: %v, %v; want the other blob only", names, err)
	}
	if err := d.DestroyBlob(ctx, "subjects/x/keys/missing"); err != nil {
		return fmt.Errorf("DestroyBlob of a missing blob: %w", err)
	}
	// A create succeeds once, even after a destroy; a second create of
	// the same name changes nothing.
	for _, data := range []string{"first", "second"} {
		err := d.CreateDestroyableBlob(ctx, "subjects/x/keys/a", []byte(data))
		if data == "first" && err != nil {
			return fmt.Errorf("CreateDestroyableBlob of a new blob: %w", err)
		}
		if data == "second" && !errors.Is(err, store.ErrBlobExists) {
			return fmt.Errorf("CreateDestroyableBlob of an existing blob: %v, want ErrBlobExists", err)
		}
	}
	if b, err := sc.ReadBlob(ctx, "subjects/x/keys/a"); err != nil || string(b) != "first" {
		return fmt.Errorf("ReadBlob after two creates: %q, %v; want the first", b, err)
	}
	return nil
}
