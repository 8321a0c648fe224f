package filestore_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

// TestFullDisk fills a small real file system: the append fails with
// ENOSPC, the file is cut back to whole lines, and everything acknowledged
// before stays readable.
func TestFullDisk(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("mount a 64 KiB tmpfs (CI runs as root): %v", err)
		}
		t.Skipf("this test mounts a tmpfs and needs root: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	s := openT(t, dir, nil)
	defer s.Close()
	var acked []store.Record
	var err error
	for _, r := range storetest.Records(day, 10000) {
		if err = s.Append(t.Context(), r); err != nil {
			break
		}
		acked = append(acked, r)
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append on a full disk: %v, want ENOSPC", err)
	}
	big := storetest.Records(day.Add(time.Hour), 50)
	if err := s.Append(t.Context(), big...); err == nil {
		t.Fatalf("a batch on a full disk was acknowledged")
	}
	b, _ := os.ReadFile(filepath.Join(dir, dayFile))
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("file does not end with a whole line after ENOSPC")
	}
	r := openT(t, dir, &filestore.Options{ReadOnly: true})
	defer r.Close()
	got := scanAll(t, r)
	if !slices.Equal(got.ids, storetest.IDs(acked)) || len(got.corrupt) != 0 {
		t.Fatalf("after ENOSPC: read %d entries (%d corrupt), acknowledged %d", len(got.ids), len(got.corrupt), len(acked))
	}
}
