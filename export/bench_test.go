package export

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkExport exports hash-only entries to a new folder per
// iteration and reports entries/s and the size of the Parquet files
// against the JSONL files they came from (target: >= 500,000 entries/s,
// <= 1/5 of the bytes).
func BenchmarkExport(b *testing.B) {
	const n = 200_000
	dir := b.TempDir()
	l := openLog(b, dir, false)
	ins := interactions(n, 9)
	for i := range ins {
		ins[i].Metadata = nil // hash-only entries as most deployments log them
		ins[i].Input, ins[i].Output = ins[i].Input+" with some more words", ins[i].Output+" and a longer answer"
	}
	logAll(b, l, ins)
	var jsonl int64
	files, _ := filepath.Glob(filepath.Join(dir, "audit_*.jsonl"))
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			b.Fatal(err)
		}
		jsonl += fi.Size()
	}
	var parquetBytes int64
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for b.Loop() {
		b.StopTimer()
		out := b.TempDir()
		b.StartTimer()
		res, err := Parquet(b.Context(), l, out, noSettle())
		if err != nil {
			b.Fatal(err)
		}
		if res.Entries != n {
			b.Fatalf("exported %d, want %d", res.Entries, n)
		}
		parquetBytes = res.Bytes
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	if cpu > 0 {
		// On a machine shared with other work the wall-clock rate
		// understates: CPU time per entry is the steadier figure.
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n)/float64(b.N), "cpu-ns/entry")
	}
	b.ReportMetric(float64(n)*float64(b.N)/elapsed.Seconds(), "entries/s")
	b.ReportMetric(float64(parquetBytes)/n, "B/entry")
	b.ReportMetric(float64(jsonl)/n, "jsonl-B/entry")
	b.ReportMetric(float64(jsonl)/float64(parquetBytes), "jsonl/parquet")
}
