package keyfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWriteNew(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "k")
	secret := []byte("s3cr3t-key-material\n")
	if err := WriteNew(path, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != string(secret) {
		t.Fatalf("read back %q, %v", got, err)
	}
	if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	err = WriteNew(path, []byte("other"), 0o600)
	if !errors.Is(err, fs.ErrExist) || strings.Contains(err.Error(), "other") {
		t.Fatalf("second write: %v, want fs.ErrExist without the data", err)
	}
	if got, _ := os.ReadFile(path); string(got) != string(secret) {
		t.Errorf("the existing file changed: %q", got)
	}
	err = WriteNew(filepath.Join(dir, "missing", "k"), secret, 0o600)
	if err == nil || strings.Contains(err.Error(), "s3cr3t") {
		t.Fatalf("write into a missing directory: %v, want an error without the data", err)
	}
}
