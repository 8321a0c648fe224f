package comply_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
)

func TestKeyVersionInMetadata(t *testing.T) {
	k1, _ := seal.GenerateKey()
	k2, _ := seal.GenerateKey()
	ring, err := seal.NewNamedKeyring(seal.NamedKey{ID: "v2", Key: k2}, seal.NamedKey{ID: "v1", Key: k1})
	if err != nil {
		t.Fatal(err)
	}
	l := newLogger(t, &comply.Options{Keyring: ring, StoreContent: true})
	tests := []struct {
		name string
		md   any
		want string
	}{
		{"none", nil, `{"encryption_key_version": "v2"}`},
		{"empty", map[string]any{}, `{"encryption_key_version": "v2"}`},
		{"kept", map[string]any{"a": 1, "b": []any{"x"}}, `{"a": 1, "b": ["x"], "encryption_key_version": "v2"}`},
		{"ours wins in place", map[string]any{"a": 1, "encryption_key_version": "v9", "z": true},
			`{"a": 1, "encryption_key_version": "v2", "z": true}`},
		{"nested untouched", map[string]any{"n": map[string]any{"encryption_key_version": "x"}},
			`{"n": {"encryption_key_version": "x"}, "encryption_key_version": "v2"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := l.Log(t.Context(), comply.Interaction{Input: "in", Output: "out", Metadata: tt.md})
			if err != nil {
				t.Fatal(err)
			}
			e, err := l.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if string(e.Metadata) != tt.want {
				t.Fatalf("metadata = %s, want %s", e.Metadata, tt.want)
			}
			if comply.EntryKeyVersion(&e) != "v2" {
				t.Fatalf("EntryKeyVersion = %q", comply.EntryKeyVersion(&e))
			}
			if got, err := l.DecryptEntryContent(&e, e.OutputContent); err != nil || got != "out" {
				t.Fatalf("DecryptEntryContent = %q, %v", got, err)
			}
		})
	}
	// The id is used, not tried: a keyring whose "v2" is another key fails
	// even though it also holds the right key under another id.
	id, _ := l.Log(t.Context(), comply.Interaction{Input: "in", Output: "out"})
	e, _ := l.Get(t.Context(), id)
	k3, _ := seal.GenerateKey()
	swapped, _ := seal.NewNamedKeyring(seal.NamedKey{ID: "v2", Key: k3}, seal.NamedKey{ID: "old", Key: k2})
	r := newLogger(t, &comply.Options{Keyring: swapped})
	if _, err := r.DecryptEntryContent(&e, e.OutputContent); !errors.Is(err, seal.ErrWrongKey) {
		t.Fatalf("decrypt by id with a different v2: %v, want ErrWrongKey", err)
	}
	if got, err := r.DecryptContent(e.OutputContent); err != nil || got != "out" {
		t.Fatalf("DecryptContent tries every key: %q, %v", got, err)
	}
	plain := newLogger(t, nil)
	id, _ = plain.Log(t.Context(), comply.Interaction{Input: "in", Output: "out", Metadata: map[string]any{"a": 1}})
	e, _ = plain.Get(t.Context(), id)
	if string(e.Metadata) != `{"a": 1}` {
		t.Fatalf("hash-only entry got metadata %s", e.Metadata)
	}
}

func TestSealedContent(t *testing.T) {
	id, err := seal.GenerateIdentity(false)
	if err != nil {
		t.Fatal(err)
	}
	w := newLogger(t, &comply.Options{SealTo: id.SealingKey(), StoreContent: true})
	eid, err := w.Log(t.Context(), comply.Interaction{Input: "patient 42", Output: "confidential"})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := w.Get(t.Context(), eid)
	if !seal.IsSealed(e.InputContent) || comply.EntryKeyVersion(&e) != id.ID() {
		t.Fatalf("content %.20q, key version %q", e.InputContent, comply.EntryKeyVersion(&e))
	}
	k, _ := seal.GenerateKey()
	other, _ := seal.GenerateIdentity(false)
	tests := []struct {
		name string
		opts comply.Options
		want error
	}{
		{"writer with the public key only", comply.Options{SealTo: id.SealingKey()}, seal.ErrNeedsIdentity},
		{"a Fernet keyring", comply.Options{Keyring: seal.NewKeyring(k)}, seal.ErrNeedsIdentity},
		{"wrong identity", comply.Options{Identity: other}, seal.ErrWrongIdentity},
		{"the identity", comply.Options{Identity: id}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newLogger(t, &tt.opts)
			got, err := r.DecryptEntryContent(&e, e.InputContent)
			if tt.want == nil {
				if err != nil || got != "patient 42" {
					t.Fatalf("decrypt = %q, %v", got, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || strings.Contains(err.Error(), "patient") {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}
