package otlp_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply/otlp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestGolden: each OTLP JSON export in testdata maps to the interactions of
// its golden file (testdata/NAME.golden.json).
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range files {
		if strings.HasSuffix(f, ".golden.json") {
			continue
		}
		n++
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			td, err := otlp.DecodeJSON(b)
			if err != nil {
				t.Fatal(err)
			}
			ins, res := otlp.Convert(td, otlp.Options{Now: func() time.Time { return time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC) }})
			out := struct {
				Result       otlp.Result
				Interactions any
			}{res, ins}
			got, err := json.MarshalIndent(out, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := strings.TrimSuffix(f, ".json") + ".golden.json"
			if *update {
				if err := os.WriteFile(golden, got, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Convert(%s) differs from %s (go test -run TestGolden -update):\n%s", f, golden, got)
			}
		})
	}
	if n == 0 {
		t.Fatal("no golden inputs")
	}
}
