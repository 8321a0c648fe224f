// Package bench measures comply's logging, lookup, query, count and
// retention costs on this machine: the engine behind `comply bench`.
package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store/filestore"
)

// Config says what to measure.
type Config struct {
	N           int    // entries in the main data set (default 1,000,000)
	Dir         string // where to write; a new temporary directory if empty
	Concurrency int    // callers of the non-durable logging runs (default 4)
	// Exe, if set, is a comply binary used to time a cold `comply get`.
	Exe string
	// Progress, if set, is told what runs.
	Progress func(step string)
}

// Result holds the figures. Field names match `comply bench --json`.
type Result struct {
	N                  int     `json:"n"`
	EntryBytes         int     `json:"entry_content_bytes"`
	LogHashOnlyPerS    float64 `json:"log_hash_only_per_s"`
	LogHashOnlyP50us   float64 `json:"log_hash_only_p50_us"`
	LogHashOnlyP99us   float64 `json:"log_hash_only_p99_us"`
	LogEncryptedPerS   float64 `json:"log_encrypted_per_s"`
	LogEncryptedP50us  float64 `json:"log_encrypted_p50_us"`
	LogEncryptedP99us  float64 `json:"log_encrypted_p99_us"`
	LogDurableC64PerS  float64 `json:"log_durable_c64_per_s"`
	LogDurableC64P50us float64 `json:"log_durable_c64_p50_us"`
	LogDurableC64P99us float64 `json:"log_durable_c64_p99_us"`
	FsyncP50us         float64 `json:"fsync_p50_us"`
	GetP50us           float64 `json:"get_p50_us"`
	GetP99us           float64 `json:"get_p99_us"`
	ColdGetP50ms       float64 `json:"cold_get_p50_ms,omitempty"`
	RangePerS          float64 `json:"range_per_s"`
	RangeRSSMB         float64 `json:"range_rss_mb"`
	CountMS            float64 `json:"count_ms"`
	CleanupMS          float64 `json:"cleanup_ms"`
	CleanupDeleted     int64   `json:"cleanup_deleted"`
	BytesPerEntry      float64 `json:"bytes_per_entry"`
	BytesPerEntryCrypt float64 `json:"bytes_per_entry_encrypted"`
	PeakRSSMB          float64 `json:"peak_rss_mb"`
	EncryptedN         int     `json:"encrypted_n"`
	DurableN           int     `json:"durable_n"`
}

// content returns an input of 500 and an output of 1,500 bytes of text,
// different for every i.
func content(rng *rand.Rand) (string, string) {
	const words = "the of and to in is was for on that with as by at from this be are or an it not which have has but"
	ws := strings.Fields(words)
	gen := func(n int) string {
		var b strings.Builder
		b.Grow(n + 16)
		for b.Len() < n {
			b.WriteString(ws[rng.IntN(len(ws))])
			b.WriteByte(' ')
		}
		return b.String()[:n]
	}
	return gen(500), gen(1500)
}

func interaction(rng *rand.Rand, i int) comply.Interaction {
	in, out := content(rng)
	return comply.Interaction{
		Input: in, Output: out,
		Provider: "openai", Model: []string{"gpt-4o", "gpt-4o-mini", "claude-3-opus"}[i%3],
		ConversationID: fmt.Sprintf("conv-%d", i/8),
		Latency:        time.Duration(100+rng.IntN(900)) * time.Millisecond,
		InputTokens:    new(120), OutputTokens: new(360),
		Metadata: map[string]any{"user_id": fmt.Sprintf("user-%d", i%1000), "department": "finance"},
	}
}

// pregen builds m interactions ahead of the timed part, so the figures are
// those of comply and not of the test data generator.
func pregen(m int) []comply.Interaction {
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([]comply.Interaction, m)
	for i := range out {
		out[i] = interaction(rng, i)
	}
	return out
}

type lat struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *lat) add(d []time.Duration) { l.mu.Lock(); l.d = append(l.d, d...); l.mu.Unlock() }

func pct(d []time.Duration, p float64) float64 {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return float64(d[min(len(d)-1, int(float64(len(d))*p))]) / float64(time.Microsecond)
}

// logRun logs n interactions from callers goroutines and returns entries/s
// and the per-call latencies.
func logRun(ctx context.Context, l *comply.Logger, ins []comply.Interaction, n, callers int) (float64, []time.Duration, error) {
	var wg sync.WaitGroup
	var all lat
	errc := make(chan error, callers)
	start := time.Now()
	for c := range callers {
		wg.Go(func() {
			ds := make([]time.Duration, 0, n/callers+1)
			for i := c; i < n; i += callers {
				t0 := time.Now()
				if _, err := l.Log(ctx, ins[i%len(ins)]); err != nil {
					errc <- err
					return
				}
				ds = append(ds, time.Since(t0))
			}
			all.add(ds)
		})
	}
	wg.Wait()
	el := time.Since(start)
	select {
	case err := <-errc:
		return 0, nil, err
	default:
	}
	return float64(n) / el.Seconds(), all.d, nil
}

func dirSize(dir string) int64 {
	var n int64
	filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasPrefix(fi.Name(), "audit_") {
			n += fi.Size()
		}
		return nil
	})
	return n
}

func rssMB() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Maxrss) / 1024
}

// currentRSSMB reads the resident set size now, from /proc.
func currentRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, res int64
	fmt.Sscan(string(b), &size, &res)
	return float64(res*int64(os.Getpagesize())) / (1 << 20)
}

// Run measures everything in Config and returns the figures.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if cfg.N <= 0 {
		cfg.N = 1_000_000
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 4
	}
	step := func(s string) {
		if cfg.Progress != nil {
			cfg.Progress(s)
		}
	}
	root := cfg.Dir
	if root == "" {
		d, err := os.MkdirTemp("", "comply-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		root = d
	}
	r := &Result{N: cfg.N, EntryBytes: 2000}
	ins := pregen(min(cfg.N, 20_000))

	// 1. Hash-only logging, durability none. The first tenth of the entries
	// are stamped more than a year ago, spread over 30 days, for cleanup.
	step(fmt.Sprintf("log %d hash-only entries (durability none, %d callers)", cfg.N, cfg.Concurrency))
	main := filepath.Join(root, "hash-only")
	old := cfg.N / 10
	var stamped sync.Mutex
	var k int
	base := time.Now().AddDate(0, 0, -400)
	clock := func() time.Time {
		stamped.Lock()
		defer stamped.Unlock()
		k++
		if k <= old {
			return base.Add(time.Duration(k) * (30 * 24 * time.Hour / time.Duration(old)))
		}
		return time.Now()
	}
	st, err := filestore.Open(ctx, main, &filestore.Options{Durability: filestore.None})
	if err != nil {
		return nil, err
	}
	l, err := comply.New(st, &comply.Options{Now: clock})
	if err != nil {
		return nil, err
	}
	// The old entries first, outside the timing.
	if _, _, err := logRun(ctx, l, ins, old, cfg.Concurrency); err != nil {
		return nil, err
	}
	rate, ds, err := logRun(ctx, l, ins, cfg.N-old, cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	r.LogHashOnlyPerS, r.LogHashOnlyP50us, r.LogHashOnlyP99us = rate, pct(ds, .5), pct(ds, .99)
	ds = nil
	if err := l.Close(); err != nil {
		return nil, err
	}
	r.BytesPerEntry = float64(dirSize(main)) / float64(cfg.N)

	// 2. Encrypted content, durability none.
	r.EncryptedN = min(cfg.N, 200_000)
	step(fmt.Sprintf("log %d encrypted entries (durability none)", r.EncryptedN))
	key, _ := seal.GenerateKey()
	encDir := filepath.Join(root, "encrypted")
	st, err = filestore.Open(ctx, encDir, &filestore.Options{Durability: filestore.None})
	if err != nil {
		return nil, err
	}
	el, err := comply.New(st, &comply.Options{Keyring: seal.NewKeyring(key), StoreContent: true})
	if err != nil {
		return nil, err
	}
	rate, ds, err = logRun(ctx, el, ins, r.EncryptedN, cfg.Concurrency)
	if err != nil {
		return nil, err
	}
	r.LogEncryptedPerS, r.LogEncryptedP50us, r.LogEncryptedP99us = rate, pct(ds, .5), pct(ds, .99)
	el.Close()
	r.BytesPerEntryCrypt = float64(dirSize(encDir)) / float64(r.EncryptedN)
	os.RemoveAll(encDir)

	// 3. Durable logging with 64 callers, and one fsync for scale.
	r.DurableN = min(cfg.N, 100_000)
	step(fmt.Sprintf("log %d entries, durability always, 64 callers", r.DurableN))
	durDir := filepath.Join(root, "durable")
	st, err = filestore.Open(ctx, durDir, &filestore.Options{Durability: filestore.Always})
	if err != nil {
		return nil, err
	}
	dl, _ := comply.New(st, nil)
	rate, ds, err = logRun(ctx, dl, ins, r.DurableN, 64)
	if err != nil {
		return nil, err
	}
	r.LogDurableC64PerS, r.LogDurableC64P50us, r.LogDurableC64P99us = rate, pct(ds, .5), pct(ds, .99)
	dl.Close()
	r.FsyncP50us = fsyncP50(durDir)
	os.RemoveAll(durDir)

	// 4. Lookups by id, in process, on a freshly opened reader.
	step("get by id")
	rd, err := filestore.Open(ctx, main, &filestore.Options{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	rl, _ := comply.New(rd, nil)
	ids, err := sampleIDs(ctx, rl, 10_000, cfg.N)
	if err != nil {
		return nil, err
	}
	ds = ds[:0]
	for _, id := range ids {
		t0 := time.Now()
		if _, err := rl.Get(ctx, id); err != nil {
			return nil, err
		}
		ds = append(ds, time.Since(t0))
	}
	r.GetP50us, r.GetP99us = pct(ds, .5), pct(ds, .99)

	// 5. Count.
	step("count")
	t0 := time.Now()
	if n, err := rl.Count(ctx); err != nil || n != int64(cfg.N) {
		return nil, fmt.Errorf("count = %d, %v; want %d", n, err, cfg.N)
	}
	r.CountMS = float64(time.Since(t0).Microseconds()) / 1000

	// 6. A range query over everything, decoding every entry.
	step("range query over all entries")
	t0 = time.Now()
	var seen int
	var peak float64
	for _, err := range rl.Entries(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			return nil, err
		}
		seen++
		if seen%100_000 == 0 {
			peak = max(peak, currentRSSMB())
		}
	}
	if seen != cfg.N {
		return nil, fmt.Errorf("range query read %d entries, want %d", seen, cfg.N)
	}
	r.RangePerS = float64(seen) / time.Since(t0).Seconds()
	r.RangeRSSMB = max(peak, currentRSSMB())
	rl.Close()

	// 7. A cold `comply get`: a new process each time.
	if cfg.Exe != "" {
		step("cold comply get")
		var cold []time.Duration
		for i := range 10 {
			t0 := time.Now()
			out, err := exec.CommandContext(ctx, cfg.Exe, "--store", main, "get", ids[i*97%len(ids)]).CombinedOutput()
			if err != nil {
				return nil, fmt.Errorf("cold get: %v: %s", err, out)
			}
			cold = append(cold, time.Since(t0))
		}
		r.ColdGetP50ms = pct(cold, .5) / 1000
	}

	// 8. Retention: the oldest tenth is past 365 days.
	step(fmt.Sprintf("cleanup of %d expired entries", old))
	st, err = filestore.Open(ctx, main, nil)
	if err != nil {
		return nil, err
	}
	cl, _ := comply.New(st, nil)
	t0 = time.Now()
	n, err := cl.CleanupExpired(ctx)
	r.CleanupMS = float64(time.Since(t0).Microseconds()) / 1000
	r.CleanupDeleted = n
	cl.Close()
	if err != nil {
		return nil, err
	}
	r.PeakRSSMB = rssMB()
	return r, nil
}

// sampleIDs returns up to m ids spread over the store, read from the
// store's own lines.
func sampleIDs(ctx context.Context, l *comply.Logger, m, n int) ([]string, error) {
	every := max(1, n/m)
	var ids []string
	i := 0
	for e, err := range l.Entries(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			return nil, err
		}
		if i%every == 0 {
			ids = append(ids, e.ID)
		}
		i++
	}
	rand.New(rand.NewPCG(3, 4)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	return ids, nil
}

// fsyncP50 times fsync of a small append on the disk under dir.
func fsyncP50(dir string) float64 {
	f, err := os.CreateTemp(dir, "fsync-")
	if err != nil {
		return 0
	}
	defer os.Remove(f.Name())
	defer f.Close()
	var ds []time.Duration
	for range 50 {
		f.Write(make([]byte, 600))
		t0 := time.Now()
		f.Sync()
		ds = append(ds, time.Since(t0))
	}
	return pct(ds, .5)
}
