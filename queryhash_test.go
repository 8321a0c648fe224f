package comply_test

import (
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store/memstore"
)

// TestQueryByContentHash: Query.InputHash and OutputHash select the entries
// whose content hashed to exactly that, as the Logger hashes it.
func TestQueryByContentHash(t *testing.T) {
	l, err := comply.New(memstore.New(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	for _, in := range []comply.Interaction{{Input: "yes", Output: "a"}, {Input: "no", Output: "a"}, {Input: "yes", Output: "b"}} {
		if _, err := l.Log(t.Context(), in); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		q    comply.Query
		want int
	}{
		{comply.Query{InputHash: l.Hash("yes")}, 2},
		{comply.Query{OutputHash: l.Hash("a")}, 2},
		{comply.Query{InputHash: l.Hash("yes"), OutputHash: l.Hash("b")}, 1},
		{comply.Query{InputHash: l.Hash("maybe")}, 0},
	} {
		n := 0
		for _, err := range l.Query(t.Context(), tc.q) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		if n != tc.want {
			t.Errorf("%+v: %d entries, want %d", tc.q, n, tc.want)
		}
	}
}
