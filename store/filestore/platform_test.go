package filestore_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/complyhq/comply/store/filestore"
)

// TestUnsupportedError: the error Open returns where the file store does
// not run says so, names the stores that do, advises no command, and wraps
// errors.ErrUnsupported.
func TestUnsupportedError(t *testing.T) {
	var err error = &filestore.UnsupportedError{GOOS: "windows"}
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("%v does not wrap errors.ErrUnsupported", err)
	}
	msg := err.Error()
	for _, want := range []string{"windows", "Unix", "memstore", "s3store"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	for _, advice := range []string{"hint", "--", "COMPLY_"} {
		if strings.Contains(msg, advice) {
			t.Errorf("message %q carries CLI advice (%q)", msg, advice)
		}
	}
}

// TestOpenOnThisSystem: Open either works (Unix) or fails at once with an
// *UnsupportedError, creating nothing.
func TestOpenOnThisSystem(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s, err := filestore.Open(t.Context(), dir, nil)
	var ue *filestore.UnsupportedError
	switch {
	case err == nil:
		s.Close()
	case errors.As(err, &ue):
		if _, serr := os.Stat(dir); !errors.Is(serr, os.ErrNotExist) {
			t.Errorf("a failed Open created %s: %v", dir, serr)
		}
	default:
		t.Fatalf("Open: %v", err)
	}
}
