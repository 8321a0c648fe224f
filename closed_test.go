package comply_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store/memstore"
)

// TestClosed checks that every Logger method that can fail returns an error
// wrapping ErrClosed after Close, including those that could finish
// without the store.
func TestClosed(t *testing.T) {
	key, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	l, err := comply.New(memstore.New(0), &comply.Options{
		StoreContent:  true,
		Keyring:       seal.NewKeyring(key),
		RetentionDays: -1, // CleanupExpired has nothing to do
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	id, err := l.Log(ctx, comply.Interaction{Input: "in", Output: "out"})
	if err != nil {
		t.Fatal(err)
	}
	e, err := l.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}

	first := func(seq func(func(comply.Entry, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	tests := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Log", func(ctx context.Context) error { _, err := l.Log(ctx, comply.Interaction{Input: "a"}); return err }},
		{"Log invalid", func(ctx context.Context) error { _, err := l.Log(ctx, comply.Interaction{Metadata: 42}); return err }},
		{"LogBatch", func(ctx context.Context) error {
			_, err := l.LogBatch(ctx, comply.Interaction{}, comply.Interaction{})
			return err
		}},
		{"Get", func(ctx context.Context) error { _, err := l.Get(ctx, id); return err }},
		{"Entries", func(ctx context.Context) error { return first(l.Entries(ctx, time.Time{}, time.Time{})) }},
		{"Query", func(ctx context.Context) error { return first(l.Query(ctx, comply.Query{})) }},
		{"Count", func(ctx context.Context) error { _, err := l.Count(ctx); return err }},
		{"Stats", func(ctx context.Context) error { _, err := l.Stats(ctx, time.Time{}); return err }},
		{"Delete", func(ctx context.Context) error { return l.Delete(ctx, id) }},
		{"CleanupExpired", func(ctx context.Context) error { _, err := l.CleanupExpired(ctx); return err }},
		{"CleanupBefore", func(ctx context.Context) error { _, err := l.CleanupBefore(ctx, time.Now()); return err }},
		{"DecryptContent", func(context.Context) error { _, err := l.DecryptContent(e.InputContent); return err }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(t.Context()); !errors.Is(err, comply.ErrClosed) {
				t.Errorf("%s after Close: %v, want an error wrapping ErrClosed", tt.name, err)
			}
		})
	}
}
