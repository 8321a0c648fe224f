package comply_test

import (
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store/filestore"
)

func benchInteraction() comply.Interaction {
	return comply.Interaction{
		Input: strings.Repeat("a", 500), Output: strings.Repeat("b", 1500),
		Provider: "openai", Model: "gpt-4o", ConversationID: "conv-1",
		Latency: 250 * time.Millisecond, InputTokens: comply.Tokens(120), OutputTokens: comply.Tokens(360),
		Metadata: map[string]any{"user_id": "user-1", "department": "finance"},
	}
}

func benchLogger(b *testing.B, d filestore.Durability, opts *comply.Options) *comply.Logger {
	b.Helper()
	s, err := filestore.Open(b.Context(), b.TempDir(), &filestore.Options{Durability: d})
	if err != nil {
		b.Fatal(err)
	}
	l, err := comply.New(s, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	return l
}

// BenchmarkLog measures Log with 2,000 bytes of content per entry, as the
// issue's targets do, with as many callers as GOMAXPROCS.
func BenchmarkLog(b *testing.B) {
	key, _ := seal.GenerateKey()
	cases := []struct {
		name string
		d    filestore.Durability
		opts *comply.Options
	}{
		{"hash-only/none", filestore.None, nil},
		{"encrypted/none", filestore.None, &comply.Options{Keyring: seal.NewKeyring(key), StoreContent: true}},
		{"hash-only/always", filestore.Always, nil},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			l := benchLogger(b, c.d, c.opts)
			in := benchInteraction()
			b.ReportAllocs()
			b.SetParallelism(map[bool]int{true: 32, false: 1}[c.d == filestore.Always])
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := l.Log(b.Context(), in); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
		})
	}
}

// BenchmarkEntries measures a range query that decodes every entry.
func BenchmarkEntries(b *testing.B) {
	dir := b.TempDir()
	s, _ := filestore.Open(b.Context(), dir, &filestore.Options{Durability: filestore.None})
	l, _ := comply.New(s, nil)
	in := benchInteraction()
	const n = 100_000
	batch := make([]comply.Interaction, 1000)
	for i := range batch {
		batch[i] = in
	}
	for range n / len(batch) {
		if _, err := l.LogBatch(b.Context(), batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		k := 0
		for _, err := range l.Entries(b.Context(), time.Time{}, time.Time{}) {
			if err != nil {
				b.Fatal(err)
			}
			k++
		}
		if k != n {
			b.Fatalf("read %d", k)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "entries/s")
	l.Close()
}
