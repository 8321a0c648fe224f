package server

import (
	"encoding/json"
	"testing"

	"github.com/complyhq/comply"
)

// FuzzDecodeArray checks the array splitter against encoding/json: an
// array that encoding/json splits into items that all decode is decoded
// to as many interactions, and nothing panics.
func FuzzDecodeArray(f *testing.F) {
	item := `{"input": "a", "metadata": {"k": [1, {"x": "]}"}]}}`
	for _, s := range []string{"[" + item + "]", "[]", " [ " + item + " , " + item + " ] ", `[{"input": "a,]\"}"}]`, "[,]", "[{", "[1,2", `[{"input":"x"}]]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ins, _, err := decodeArray(string(b))
		var raws []json.RawMessage
		if json.Unmarshal(b, &raws) != nil || raws == nil {
			return
		}
		for _, r := range raws {
			if _, err := comply.DecodeInteraction(r); err != nil {
				return
			}
		}
		if err != nil {
			t.Fatalf("encoding/json decodes %q, decodeArray fails: %v", b, err)
		}
		if len(ins) != len(raws) {
			t.Fatalf("%d interactions, want %d", len(ins), len(raws))
		}
	})
}
