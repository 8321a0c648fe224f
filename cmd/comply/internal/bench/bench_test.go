package bench

import (
	"encoding/json"
	"os"
	"strconv"
	"testing"
)

// TestRun runs the whole benchmark on a small data set and checks that it
// measured what it says: every figure set, and cleanup removing exactly
// the tenth that is past retention. COMPLY_BENCH_N runs it larger by hand.
func TestRun(t *testing.T) {
	n := 5000
	if s := os.Getenv("COMPLY_BENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	r, err := Run(t.Context(), Config{N: n, Dir: t.TempDir(), Progress: func(s string) { t.Log(s) }})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.MarshalIndent(r, "", "  ")
	t.Logf("%s", b)
	if r.CleanupDeleted != int64(n/10) {
		t.Errorf("cleanup deleted %d, want %d", r.CleanupDeleted, n/10)
	}
	for name, v := range map[string]float64{
		"log_hash_only_per_s": r.LogHashOnlyPerS, "log_encrypted_per_s": r.LogEncryptedPerS,
		"log_durable_c64_per_s": r.LogDurableC64PerS, "get_p50_us": r.GetP50us, "range_per_s": r.RangePerS,
		"bytes_per_entry": r.BytesPerEntry, "peak_rss_mb": r.PeakRSSMB,
	} {
		if v <= 0 {
			t.Errorf("%s = %v", name, v)
		}
	}
}
