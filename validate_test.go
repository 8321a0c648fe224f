package comply_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store/memstore"
)

// TestRejectsImpossibleValues: negative latency and token counts, and
// metadata nested deeper than the Python library can read, are refused
// with the field named, and nothing is stored.
func TestRejectsImpossibleValues(t *testing.T) {
	neg := int64(-1)
	deep := strings.Repeat(`{"a":`, comply.MaxMetadataDepth+1) + "1" + strings.Repeat("}", comply.MaxMetadataDepth+1)
	ok := `{"a":` + strings.Repeat(`[`, comply.MaxMetadataDepth-2) + `{"s":"[[[[{"}` + strings.Repeat("]", comply.MaxMetadataDepth-2) + "}"
	for _, tc := range []struct {
		name  string
		in    comply.Interaction
		field string
	}{
		{"negative latency", comply.Interaction{Latency: -time.Millisecond}, "latency"},
		{"negative input tokens", comply.Interaction{InputTokens: &neg}, "input_tokens"},
		{"negative output tokens", comply.Interaction{OutputTokens: &neg}, "output_tokens"},
		{"metadata too deep", comply.Interaction{Metadata: json.RawMessage(deep)}, "metadata"},
		{"metadata deep enough", comply.Interaction{Metadata: json.RawMessage(ok)}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := comply.New(memstore.New(0), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			_, err = l.Log(t.Context(), tc.in)
			var ie *comply.InvalidError
			switch {
			case tc.field == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.field != "" && (!errors.As(err, &ie) || ie.Field != tc.field):
				t.Fatalf("got %v, want an *InvalidError for %s", err, tc.field)
			}
			n, _ := l.Count(t.Context())
			if want := map[bool]int64{true: 1, false: 0}[tc.field == ""]; n != want {
				t.Errorf("stored %d entries, want %d", n, want)
			}
		})
	}
}

// TestGetNormalizesIDs: an uppercase UUID finds its entry; an empty id is
// an *InvalidError, not "not found".
func TestGetNormalizesIDs(t *testing.T) {
	l, err := comply.New(memstore.New(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	id, err := l.Log(t.Context(), comply.Interaction{Input: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if e, err := l.Get(t.Context(), strings.ToUpper(id)); err != nil || e.ID != id {
		t.Fatalf("Get(upper) = %v, %v", e.ID, err)
	}
	var ie *comply.InvalidError
	if _, err := l.Get(t.Context(), ""); !errors.As(err, &ie) || ie.Field != "id" {
		t.Fatalf("Get(\"\") = %v", err)
	}
}
