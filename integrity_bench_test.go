package comply_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store/filestore"
)

// BenchmarkIntegrity measures what the ledger costs on logging: the same
// entries logged with and without integrity, side by side in one run, in
// the Always mode with 64 callers (the journal is synced before Log
// returns, in parallel with the store's own fsync) and in the None mode
// (the journal is written before Log returns, synced at the checkpoints).
// Compare entries/s of each plain/integrity pair; cpu-ns/entry includes
// the background checkpoints.
func BenchmarkIntegrity(b *testing.B) {
	signer, _ := integrityKeys(b)
	in := comply.Interaction{
		Input: strings.Repeat("a", 500), Output: strings.Repeat("b", 1500),
		Provider: "openai", Model: "gpt-4o", ConversationID: "conv-1",
		Latency: 250 * time.Millisecond, InputTokens: comply.Tokens(120), OutputTokens: comply.Tokens(360),
		Metadata: map[string]any{"user_id": "user-1", "department": "finance"},
	}
	for _, mode := range []struct {
		d       filestore.Durability
		callers int // per GOMAXPROCS
	}{{filestore.Always, 32}, {filestore.None, 1}} {
		for _, integrity := range []bool{false, true} {
			name := fmt.Sprintf("%s/%s", mode.d, map[bool]string{false: "plain", true: "integrity"}[integrity])
			b.Run(name, func(b *testing.B) {
				s, err := filestore.Open(b.Context(), b.TempDir(), &filestore.Options{Durability: mode.d})
				if err != nil {
					b.Fatal(err)
				}
				var l *comply.Logger
				if integrity {
					l, err = comply.NewWithIntegrity(b.Context(), s, &comply.Options{ErrorLog: quietLog}, &comply.IntegrityOptions{Signer: signer})
				} else {
					l, err = comply.New(s, nil)
				}
				if err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				b.SetParallelism(mode.callers)
				cpu0 := cpuTime()
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if _, err := l.Log(b.Context(), in); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.StopTimer()
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/entry")
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}
