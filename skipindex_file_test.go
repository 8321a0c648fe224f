package comply

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply/internal/skipfilter"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
)

func openFileLogger(t *testing.T, dir string, readOnly bool) *Logger {
	t.Helper()
	s, err := filestore.Open(t.Context(), dir, &filestore.Options{Durability: filestore.None, ReadOnly: readOnly})
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(s, &Options{RetentionDays: -1})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// Over a file store the writer keeps the filters as summary blobs; a
// reader uses them, and rebuilds a damaged or stale one, never trusting
// it.
func TestSkipFiltersFileStoreBlobs(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	w := openFileLogger(t, dir, false)
	for d := range 6 {
		for i := range 20 {
			in := Interaction{Time: base.AddDate(0, 0, d).Add(time.Duration(i) * time.Minute), Provider: "p", Model: "m",
				Input: fmt.Sprint("q", d, "-", i), Output: "o", ConversationID: fmt.Sprint("c", d, "-", i%4),
				Metadata: map[string]any{"user_id": fmt.Sprint("u", d)}}
			if _, err := w.Log(t.Context(), in); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w = openFileLogger(t, dir, false)
	<-w.summariesDone // the writer's pass writes the blobs of the sealed days
	sc := w.store.(store.Sidecar)
	names, err := sc.ListBlobs(t.Context(), "summary/skipfilter/")
	if err != nil || len(names) != 6 {
		t.Fatalf("skip filter blobs: %q, %v; want 6", names, err)
	}
	// Damage one blob; replace another by a third's (built at another
	// version, for another segment): both must be rebuilt, not trusted.
	if err := sc.WriteBlob(t.Context(), names[1], []byte("CSKF garbage")); err != nil {
		t.Fatal(err)
	}
	other, err := sc.ReadBlob(t.Context(), names[3])
	if err != nil {
		t.Fatal(err)
	}
	if err := sc.WriteBlob(t.Context(), names[2], other); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r := openFileLogger(t, dir, true)
	defer r.Close()
	tests := []struct {
		name string
		q    Query
		want int
	}{
		{"conversation in the damaged blob's day", Query{ConversationID: "c1-2"}, 5},
		{"conversation in the stale blob's day", Query{ConversationID: "c2-3"}, 5},
		{"input hash", Query{InputHash: r.Hash("q2-7")}, 1},
		{"metadata", Query{Metadata: map[string]string{"user_id": "u1"}}, 20},
		{"absent", Query{ConversationID: "c9-9"}, 0},
	}
	for _, tt := range tests {
		got := 0
		for e, err := range r.Query(t.Context(), tt.q) {
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(e.ConversationID, "c") {
				t.Fatalf("%s: unexpected entry", tt.name)
			}
			got++
		}
		if got != tt.want {
			t.Errorf("%s: %d entries, want %d", tt.name, got, tt.want)
		}
	}
	// The reader's cache now holds filters built at each segment's version.
	segs, err := r.store.(store.Segmented).Segments(t.Context(), store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	for _, seg := range segs {
		v, ok := r.summaries.get("skipfilter", seg.Name, seg.Version)
		if !ok {
			t.Errorf("%s: no filters cached", seg.Name)
			continue
		}
		s := v.(*skipfilter.Set)
		if !slices.Contains(s.Fields(), "metadata.user_id") || s.Entries != 20 {
			t.Errorf("%s: filters of %d entries, fields %q", seg.Name, s.Entries, s.Fields())
		}
	}
}
