package ledger_test

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/storetest"
)

// benchDir returns a directory of n entries of about 600 bytes (the size
// of a hash-only entry with metadata), sealed by a ledger. It is built once
// per n in the benchmark's temporary directory.
func benchDir(b *testing.B, n int) (dir string, size int64, v note.Verifier) {
	signer, v := keys(b, "bench")
	dir = b.TempDir()
	st := openFS(b, dir, false)
	lg, err := ledger.Open(b.Context(), st, quiet(&ledger.Options{Signer: signer}))
	if err != nil {
		b.Fatal(err)
	}
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]store.Record, 0, 1000)
	pad := `, "metadata": {"user_id": "user-12345", "department": "finance", "request": "` + string(make([]byte, 0)) + `0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}}`
	for i := range n {
		ts := start.Add(time.Duration(i) * 100 * time.Millisecond)
		r := storetest.Record(storetest.Records(ts, 1)[0].ID[:24]+strconv.FormatInt(1e11+int64(i), 10)[:12], ts, "gpt-4o")
		r.Line = append(r.Line[:len(r.Line)-len(`, "metadata": {}}`)], pad...)
		batch = append(batch, r)
		if len(batch) == cap(batch) || i == n-1 {
			if err := st.Append(b.Context(), batch...); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := lg.Close(); err != nil {
		b.Fatal(err)
	}
	st.Close()
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if fi, err := e.Info(); err == nil && filepath.Ext(e.Name()) == ".jsonl" {
			size += fi.Size()
		}
	}
	return dir, size, v
}

// BenchmarkVerify measures Verify's reading speed over a sealed directory
// (warm page cache); the target is at least 200 MB/s.
func BenchmarkVerify(b *testing.B) {
	dir, size, v := benchDir(b, 300_000)
	b.SetBytes(size)
	b.ResetTimer()
	for b.Loop() {
		st := openFS(b, dir, true)
		r, err := ledger.Verify(b.Context(), st, &ledger.VerifyOptions{Verifiers: []note.Verifier{v}})
		st.Close()
		if err != nil || !r.OK() {
			b.Fatal(err, r.Summary())
		}
	}
	b.ReportMetric(float64(size)/300_000, "B/entry")
}
