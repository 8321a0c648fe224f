package filestore_test

import (
	"bytes"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/complyhq/comply/store/filestore"
)

// A writer that cuts a torn final line says so: the file, the bytes cut
// and where their copy went, never the bytes themselves.
func TestTornTailIsLogged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	fill(t, dir, 2, nil)
	torn := `{"id": "0199c6f8-d620-77e7-b458-943e08b4aa7b", "timestamp": "2026-11-25T10:00:09", "input_ha`
	appendFile(t, filepath.Join(dir, dayFile), torn)

	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	s := openT(t, dir, &filestore.Options{ErrorLog: log})
	s.Close()
	out := buf.String()
	for _, want := range []string{"level=WARN", "torn", "file=" + dayFile, "bytes=" + strconv.Itoa(len(torn)),
		"copy=" + filepath.Join(dir, ".comply", "torn", dayFile)} {
		if !strings.Contains(out, want) {
			t.Errorf("log %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "0199c6f8") {
		t.Errorf("log %q repeats the torn bytes", out)
	}

	// Nothing to cut, nothing said.
	buf.Reset()
	s = openT(t, dir, &filestore.Options{ErrorLog: log})
	s.Close()
	if buf.Len() != 0 {
		t.Errorf("second open logged %q", buf.String())
	}
}
