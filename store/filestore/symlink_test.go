package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

// victim returns a directory outside the store holding one file, and a
// check that the file is still there, unchanged.
func victim(t *testing.T) (dir string, intact func() bool) {
	t.Helper()
	dir = t.TempDir()
	path := filepath.Join(dir, "precious")
	if err := os.WriteFile(path, []byte("keep me\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir, func() bool {
		b, err := os.ReadFile(path)
		ents, _ := os.ReadDir(dir)
		return err == nil && string(b) == "keep me\n" && len(ents) == 1
	}
}

// A symlink inside .comply is never followed: the store refuses to open,
// naming the path, and the link's target is left alone.
func TestSymlinksInsideTheStoreAreNotFollowed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		link     string // relative to the store directory
		toFile   bool   // the link names the victim file, else its directory
		readOnly bool
	}{
		{name: "LOCK", link: ".comply/LOCK", toFile: true},
		{name: "tmp", link: ".comply/tmp"},
		{name: "index", link: ".comply/index"},
		{name: "torn", link: ".comply/torn"},
		{name: "blobs", link: ".comply/blobs"},
		{name: "sidedir", link: ".comply"},
		{name: "sidedir reader", link: ".comply", readOnly: true},
		{name: "index reader", link: ".comply/index", readOnly: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			fill(t, dir, 3, nil)
			vdir, intact := victim(t)
			target := vdir
			if tc.toFile {
				target = filepath.Join(vdir, "precious")
			}
			link := filepath.Join(dir, filepath.FromSlash(tc.link))
			if err := os.RemoveAll(link); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			s, err := filestore.Open(t.Context(), dir, &filestore.Options{ReadOnly: tc.readOnly})
			if err == nil {
				// Whatever the store did, it must not reach the target.
				s.WriteBlob(t.Context(), "ledger/x", []byte("x"))
				s.Close()
				t.Errorf("Open succeeded over a symlinked %s", tc.link)
			}
			var ue *filestore.UnsafePathError
			if err != nil && !errors.As(err, &ue) {
				t.Errorf("Open: %v, want a *filestore.UnsafePathError", err)
			}
			if ue != nil && ue.Path != link {
				t.Errorf("UnsafePathError names %s, want %s", ue.Path, link)
			}
			if !intact() {
				t.Errorf("the symlink's target was changed")
			}
		})
	}
}

// A side directory that is a file is refused too.
func TestSideDirectoryNotADirectory(t *testing.T) {
	t.Parallel()
	for _, sub := range []string{".comply/tmp", ".comply/index", ".comply/torn", ".comply/blobs"} {
		t.Run(sub, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			fill(t, dir, 1, nil)
			path := filepath.Join(dir, filepath.FromSlash(sub))
			os.RemoveAll(path)
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := filestore.Open(t.Context(), dir, nil)
			var ue *filestore.UnsafePathError
			if !errors.As(err, &ue) || ue.Path != path {
				t.Fatalf("Open: %v, want a *filestore.UnsafePathError naming %s", err, path)
			}
		})
	}
}

// Files the store writes inside .comply are never written through a
// symlink planted where they go: an index's temporary file, a torn copy, a
// blob, a blob's temporary file, a directory of blobs.
func TestPlantedSymlinksAreNotFollowed(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		link string // relative to the store directory
		dir  bool   // the link names the victim's directory
		act  func(ctx context.Context, s *filestore.Store) error
	}{
		{name: "index tmp", link: ".comply/index/" + dayFile + ".idx.tmp",
			act: func(ctx context.Context, s *filestore.Store) error {
				return s.Append(ctx, storetest.Records(day.Add(time.Hour), 1)...)
			}},
		{name: "blob", link: ".comply/blobs/ledger/x",
			act: func(ctx context.Context, s *filestore.Store) error { return s.WriteBlob(ctx, "ledger/x", []byte("x")) }},
		{name: "blob tmp", link: ".comply/blobs/ledger/x.tmp",
			act: func(ctx context.Context, s *filestore.Store) error { return s.WriteBlob(ctx, "ledger/x", []byte("x")) }},
		{name: "blob dir", link: ".comply/blobs/ledger", dir: true,
			act: func(ctx context.Context, s *filestore.Store) error { return s.WriteBlob(ctx, "ledger/x", []byte("x")) }},
		{name: "append blob dir", link: ".comply/blobs/ledger", dir: true,
			act: func(ctx context.Context, s *filestore.Store) error { return s.AppendBlob(ctx, "ledger/j", []byte("x")) }},
		{name: "remove blob dir", link: ".comply/blobs/ledger", dir: true,
			act: func(ctx context.Context, s *filestore.Store) error { return s.RemoveBlob(ctx, "ledger/precious") }},
		{name: "read blob dir", link: ".comply/blobs/ledger", dir: true,
			act: func(ctx context.Context, s *filestore.Store) error {
				b, err := s.ReadBlob(ctx, "ledger/precious")
				if err == nil && len(b) > 0 {
					return errors.New("read through a symlink")
				}
				return nil
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			fill(t, dir, 3, nil)
			vdir, intact := victim(t)
			target := filepath.Join(vdir, "precious")
			if tc.dir {
				target = vdir
			}
			link := filepath.Join(dir, filepath.FromSlash(tc.link))
			if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			s := openT(t, dir, nil)
			err := tc.act(t.Context(), s)
			s.Close()
			if !intact() {
				t.Fatalf("the symlink's target was changed (err %v)", err)
			}
			if tc.dir && err != nil {
				var ue *filestore.UnsafePathError
				if !errors.As(err, &ue) {
					t.Errorf("err = %v, want a *filestore.UnsafePathError", err)
				}
			}
		})
	}
}
