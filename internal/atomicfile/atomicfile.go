// Package atomicfile replaces small files whole or not at all, durably:
// the tokens file, the verifier's trusted checkpoints, the export's
// watermark.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// Write replaces the file at path with data: a new temporary file beside
// it (mode 0600, created exclusively, so never through a link), written
// and fsynced, renamed over path, then the directory fsynced. A reader sees
// the old content or the new, never a mix; after a crash, the old file or
// the new one is there, and at worst a temporary ".NAME.tmp*" file is
// left beside it.
func Write(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	t, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("create a temporary file for %s: %w", path, err)
	}
	_, err = t.Write(data)
	if err == nil {
		err = t.Sync()
	}
	if cerr := t.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(t.Name(), path)
	}
	if err != nil {
		os.Remove(t.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(dir)
}

// SyncDir makes the entries of dir (a rename, a new file) durable.
// Windows cannot open a folder to sync it; NTFS journals its renames.
func SyncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}
