package filestore_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

var day = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)

const dayFile = "audit_20261125.jsonl"

// fill writes n records into a new store in dir and closes it.
func fill(t *testing.T, dir string, n int, opts *filestore.Options) []store.Record {
	t.Helper()
	s := openT(t, dir, opts)
	recs := storetest.Records(day, n)
	if err := s.Append(t.Context(), recs...); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return recs
}

type scanResult struct {
	ids     []string
	corrupt []*store.CorruptionError
}

func scanAll(t *testing.T, s store.Store) scanResult {
	t.Helper()
	var r scanResult
	for rec, err := range s.Scan(t.Context(), store.Query{}) {
		var ce *store.CorruptionError
		switch {
		case errors.As(err, &ce):
			r.corrupt = append(r.corrupt, ce)
		case err != nil:
			t.Fatalf("Scan: %v", err)
		default:
			r.ids = append(r.ids, rec.ID)
		}
	}
	return r
}

func appendFile(t *testing.T, path, data string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(data); err != nil {
		t.Fatal(err)
	}
}

func TestTornTailIsCutAndKept(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	recs := fill(t, dir, 5, nil)
	torn := `{"id": "0199c6f8-d620-77e7-b458-943e08b4aa7b", "timestamp": "2026-11-25T10:00:09", "input_ha`
	appendFile(t, filepath.Join(dir, dayFile), torn)

	// A reader ignores the partial line and reports nothing.
	r := openT(t, dir, &filestore.Options{ReadOnly: true})
	if got := scanAll(t, r); !slices.Equal(got.ids, storetest.IDs(recs)) || len(got.corrupt) != 0 {
		t.Fatalf("reader saw %v, %v", got.ids, got.corrupt)
	}
	r.Close()

	// A writer cuts it, keeps a copy, and goes on appending.
	s := openT(t, dir, nil)
	defer s.Close()
	copies, _ := filepath.Glob(filepath.Join(dir, ".comply", "torn", "*.torn"))
	if len(copies) != 1 {
		t.Fatalf("torn copies = %v, want one", copies)
	}
	if b, _ := os.ReadFile(copies[0]); string(b) != torn {
		t.Fatalf("torn copy holds %q", b)
	}
	more := storetest.Records(day.Add(time.Hour), 1)
	if err := s.Append(t.Context(), more...); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, s); !slices.Equal(got.ids, append(storetest.IDs(recs), more[0].ID)) || len(got.corrupt) != 0 {
		t.Fatalf("after repair: %v, %v", got.ids, got.corrupt)
	}
}

func TestCorruptLineInTheMiddle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	recs := fill(t, dir, 4, nil)
	path := filepath.Join(dir, dayFile)
	b, _ := os.ReadFile(path)
	lines := bytes.SplitAfter(b, []byte("\n"))
	garbage := "this is not json\n"
	damaged := slices.Concat(lines[0], lines[1], []byte(garbage), lines[2], lines[3])
	os.WriteFile(path, damaged, 0o600)
	wantOff := int64(len(lines[0]) + len(lines[1]))

	for _, ro := range []bool{true, false} {
		s := openT(t, dir, &filestore.Options{ReadOnly: ro})
		got := scanAll(t, s)
		if !slices.Equal(got.ids, storetest.IDs(recs)) {
			t.Fatalf("readOnly=%v: good entries %v, want %v", ro, got.ids, storetest.IDs(recs))
		}
		if len(got.corrupt) != 1 || got.corrupt[0].Path != dayFile || got.corrupt[0].Offset != wantOff {
			t.Fatalf("readOnly=%v: corruption reports %v, want %s at %d", ro, got.corrupt, dayFile, wantOff)
		}
		if !strings.Contains(got.corrupt[0].Error(), dayFile) {
			t.Fatalf("error text %q does not name the file", got.corrupt[0])
		}
		if n, _ := s.Count(t.Context()); n != 4 {
			t.Fatalf("Count = %d, want 4", n)
		}
		if n, _ := s.Corrupt(t.Context()); n != 1 {
			t.Fatalf("Corrupt = %d, want 1", n)
		}
		for _, r := range recs {
			if _, err := s.Get(t.Context(), r.ID); err != nil {
				t.Fatalf("Get(%s): %v", r.ID, err)
			}
		}
		if !ro {
			// Expiring everything keeps the line whose age is unknown.
			n, err := s.Expire(t.Context(), day.Add(24*time.Hour))
			if err != nil || n != 4 {
				t.Fatalf("Expire = %d, %v", n, err)
			}
			if b, _ := os.ReadFile(path); string(b) != garbage {
				t.Fatalf("after Expire the file holds %q, want the unreadable line only", b)
			}
		}
		s.Close()
	}
}

func TestSecondWriterIsRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openT(t, dir, nil)
	defer s.Close()
	_, err := filestore.Open(t.Context(), dir, nil)
	var le *filestore.LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() {
		t.Fatalf("second writer: %v, want a *LockedError naming pid %d", err, os.Getpid())
	}
	// Readers need no lock, and see what the writer wrote.
	recs := storetest.Records(day, 3)
	if err := s.Append(t.Context(), recs...); err != nil {
		t.Fatal(err)
	}
	r := openT(t, dir, &filestore.Options{ReadOnly: true})
	defer r.Close()
	if got := scanAll(t, r); !slices.Equal(got.ids, storetest.IDs(recs)) {
		t.Fatalf("reader saw %v", got.ids)
	}
	more := storetest.Records(day.Add(time.Hour), 2)
	if err := s.Append(t.Context(), more...); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(t.Context(), more[1].ID); err != nil {
		t.Fatalf("reader Get of a line written after it opened: %v", err)
	}
	if n, _ := r.Count(t.Context()); n != 5 {
		t.Fatalf("reader Count = %d, want 5", n)
	}
	if err := r.Append(t.Context(), more...); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("Append on a reader: %v", err)
	}
	s.Close()
	// The lock is released on Close.
	s2 := openT(t, dir, nil)
	s2.Close()
}

func TestRotation(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	recs := fill(t, dir, 40, &filestore.Options{RotationSize: 4096})
	names, _ := filepath.Glob(filepath.Join(dir, "audit_*.jsonl"))
	var base []string
	for _, n := range names {
		base = append(base, filepath.Base(n))
		if fi, _ := os.Stat(n); fi.Size() > 4096 {
			t.Errorf("%s is %d bytes, past the rotation size", n, fi.Size())
		}
		if fi, _ := os.Stat(n); fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", n, fi.Mode().Perm())
		}
	}
	if len(base) < 3 || base[0] != dayFile || base[1] != "audit_20261125_001.jsonl" {
		t.Fatalf("files = %v", base)
	}
	s := openT(t, dir, &filestore.Options{ReadOnly: true})
	defer s.Close()
	if got := scanAll(t, s); !slices.Equal(got.ids, storetest.IDs(recs)) {
		t.Fatalf("rotated files read back %d entries, want %d in order", len(got.ids), len(recs))
	}
	for _, d := range []string{filepath.Join(dir, ".comply"), filepath.Join(dir, ".comply", "index")} {
		if fi, _ := os.Stat(d); fi.Mode().Perm() != 0o700 {
			t.Errorf("%s has mode %v, want 0700", d, fi.Mode().Perm())
		}
	}
}

func TestIndexRebuilt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	recs := fill(t, dir, 30, &filestore.Options{RotationSize: 4096})
	idx, _ := filepath.Glob(filepath.Join(dir, ".comply", "index", "*.idx"))
	if len(idx) < 3 {
		t.Fatalf("indexes = %v", idx)
	}
	os.Remove(idx[0])                           // missing
	os.WriteFile(idx[1], []byte("junk"), 0o600) // damaged
	// stale: the Python library appended a line to the last file
	last := filepath.Join(dir, strings.TrimSuffix(filepath.Base(idx[len(idx)-1]), ".idx"))
	extra := storetest.Records(day.Add(time.Hour), 1)[0]
	appendFile(t, last, string(extra.Line)+"\n")
	for _, ro := range []bool{true, false} {
		s := openT(t, dir, &filestore.Options{ReadOnly: ro})
		for _, r := range append(recs, extra) {
			got, err := s.Get(t.Context(), r.ID)
			if err != nil || !bytes.Equal(got.Line, r.Line) {
				t.Fatalf("readOnly=%v Get(%s) = %v", ro, r.ID, err)
			}
		}
		if n, _ := s.Count(t.Context()); n != 31 {
			t.Fatalf("Count = %d, want 31", n)
		}
		s.Close()
	}
}

// TestPythonDirectory reads the directory the Python library wrote.
func TestPythonDirectory(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"hash_only", "encrypted"} {
		dir := t.TempDir()
		src, err := os.ReadFile(filepath.Join("..", "..", "testdata", "seed-interop", mode, dayFile))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, dayFile), src, 0o600)
		s := openT(t, dir, nil)
		got := scanAll(t, s)
		if len(got.ids) != 5 || len(got.corrupt) != 0 {
			t.Fatalf("%s: read %d entries, %v", mode, len(got.ids), got.corrupt)
		}
		for i, l := range bytes.Split(bytes.TrimSuffix(src, []byte("\n")), []byte("\n")) {
			rec, err := s.Get(t.Context(), got.ids[i])
			if err != nil || !bytes.Equal(rec.Line, l) {
				t.Fatalf("%s: Get(%s) = %q, %v", mode, got.ids[i], rec.Line, err)
			}
		}
		s.Close()
		if b, _ := os.ReadFile(filepath.Join(dir, dayFile)); !bytes.Equal(b, src) {
			t.Fatalf("%s: opening the directory changed the Python file", mode)
		}
	}
}

func TestCleanupRewriteIsAtomic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	recs := fill(t, dir, 10, nil)
	s := openT(t, dir, nil)
	n, err := s.Expire(t.Context(), recs[4].Time)
	if err != nil || n != 4 {
		t.Fatalf("Expire = %d, %v", n, err)
	}
	// A crashed rewrite leaves a temporary file; opening clears it.
	s.Close()
	tmp := filepath.Join(dir, ".comply", "tmp", dayFile)
	os.WriteFile(tmp, []byte("partial copy"), 0o600)
	s = openT(t, dir, nil)
	defer s.Close()
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("leftover temporary file not cleared")
	}
	if got := scanAll(t, s); !slices.Equal(got.ids, storetest.IDs(recs[4:])) {
		t.Fatalf("after Expire: %v", got.ids)
	}
}

func TestMissingDirectoryReadOnly(t *testing.T) {
	t.Parallel()
	_, err := filestore.Open(t.Context(), filepath.Join(t.TempDir(), "nope"), &filestore.Options{ReadOnly: true})
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of a missing directory: %v", err)
	}
}
