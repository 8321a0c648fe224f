package filestore_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

// Files that look like entry files but that the store does not read (an
// impossible date, a name of the wrong shape, a symlink, a directory) are
// reported, never skipped silently: Scan yields each as a
// *store.CorruptionError at offset -1 wrapping a *filestore.StrayFileError,
// and StrayFiles lists them.
func TestStrayFilesAreReported(t *testing.T) {
	t.Parallel()
	for _, readOnly := range []bool{false, true} {
		name := "writer"
		if readOnly {
			name = "reader"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			recs := fill(t, dir, 3, nil)
			line := string(storetest.Records(day, 1)[0].Line) + "\n"
			write := func(name string) {
				if err := os.WriteFile(filepath.Join(dir, name), []byte(line), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			write("audit_20261301.jsonl")     // no 13th month
			write("audit_2026113.jsonl")      // seven digits
			write("audit_20261125_1.jsonl")   // not how a rotated file is named
			write("audit_20261125.jsonl.bak") // not an entry file: ignored
			write("notes.txt")                // ignored
			outside := filepath.Join(t.TempDir(), "elsewhere.jsonl")
			if err := os.WriteFile(outside, []byte(line), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(outside, filepath.Join(dir, "audit_20261126.jsonl")); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(filepath.Join(dir, "audit_20261127.jsonl"), 0o700); err != nil {
				t.Fatal(err)
			}
			want := []string{"audit_20261125_1.jsonl", "audit_20261126.jsonl", "audit_20261127.jsonl", "audit_2026113.jsonl", "audit_20261301.jsonl"}

			s := openT(t, dir, &filestore.Options{ReadOnly: readOnly})
			defer s.Close()
			got := scanAll(t, s)
			if !slices.Equal(got.ids, storetest.IDs(recs)) {
				t.Errorf("Scan ids = %v, want the 3 entries of %s", got.ids, dayFile)
			}
			var paths []string
			for _, ce := range got.corrupt {
				var sf *filestore.StrayFileError
				if !errors.As(ce, &sf) || ce.Offset != -1 || sf.Path != ce.Path || sf.Why == "" {
					t.Errorf("Scan yielded %v, want a stray file at offset -1", ce)
					continue
				}
				paths = append(paths, sf.Path)
			}
			if !slices.Equal(paths, want) {
				t.Errorf("Scan reported stray files %v, want %v", paths, want)
			}
			strays, err := s.StrayFiles(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			paths = paths[:0]
			for _, sf := range strays {
				paths = append(paths, sf.Path)
			}
			if !slices.Equal(paths, want) {
				t.Errorf("StrayFiles = %v, want %v", paths, want)
			}
			if n, _ := s.Count(t.Context()); n != 3 {
				t.Errorf("Count = %d, want 3", n)
			}
			// A scan for a time range reports them too: their times are
			// unknown.
			var n int
			for _, err := range s.Scan(t.Context(), store.Query{Start: day.AddDate(1, 0, 0)}) {
				var sf *filestore.StrayFileError
				if errors.As(err, &sf) {
					n++
				}
			}
			if n != len(want) {
				t.Errorf("a bounded scan reported %d stray files, want %d", n, len(want))
			}
		})
	}
}
