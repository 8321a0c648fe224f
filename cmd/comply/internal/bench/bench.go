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
		InputTokens:    comply.Tokens(120), OutputTokens: comply.Tokens(360),
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
	root := cfg.Dir
	if root == "" {
		d, err := os.MkdirTemp("", "comply-bench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		root = d
	}
	b := &run{
		cfg:  cfg,
		r:    &Result{N: cfg.N, EntryBytes: 2000},
		ins:  pregen(min(cfg.N, 20_000)),
		root: root,
		main: filepath.Join(root, "hash-only"),
		old:  cfg.N / 10,
	}
	steps := []func(context.Context) error{
		b.logHashOnly, b.logEncrypted, b.logDurable, b.readBack, b.coldGets, b.cleanup,
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	b.r.PeakRSSMB = peakRSSMB()
	return b.r, nil
}

// A run is one Run: its configuration, the figures so far, and what the
// steps share.
type run struct {
	cfg  Config
	r    *Result
	ins  []comply.Interaction // the pregenerated interactions, logged in turn
	root string
	main string   // the hash-only data set, which the later steps read
	old  int      // how many of main's entries are past retention
	ids  []string // ids sampled from main by readBack
}

func (b *run) step(s string) {
	if b.cfg.Progress != nil {
		b.cfg.Progress(s)
	}
}

// openLogger returns a Logger over the file store in dir.
func openLogger(ctx context.Context, dir string, fo *filestore.Options, o *comply.Options) (*comply.Logger, error) {
	st, err := filestore.Open(ctx, dir, fo)
	if err != nil {
		return nil, err
	}
	l, err := comply.New(st, o)
	if err != nil {
		st.Close()
		return nil, err
	}
	return l, nil
}

// agedClock returns a clock that stamps the first b.old entries more than
// a year ago, spread over 30 days, for the cleanup step, and the rest now.
func (b *run) agedClock() func() time.Time {
	var mu sync.Mutex
	var k int
	base := time.Now().AddDate(0, 0, -400)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		k++
		if k <= b.old {
			return base.Add(time.Duration(k) * (30 * 24 * time.Hour / time.Duration(b.old)))
		}
		return time.Now()
	}
}

// logHashOnly logs the main data set, hash-only, durability none, and
// measures the rate, the latencies of the entries stamped now and the
// bytes per entry.
func (b *run) logHashOnly(ctx context.Context) error {
	n, callers := b.cfg.N, b.cfg.Concurrency
	b.step(fmt.Sprintf("log %d hash-only entries (durability none, %d callers)", n, callers))
	l, err := openLogger(ctx, b.main, &filestore.Options{Durability: filestore.None}, &comply.Options{Now: b.agedClock()})
	if err != nil {
		return err
	}
	// The old entries first, outside the timing.
	if _, _, err := logRun(ctx, l, b.ins, b.old, callers); err != nil {
		l.Close()
		return err
	}
	rate, ds, err := logRun(ctx, l, b.ins, n-b.old, callers)
	if err != nil {
		l.Close()
		return err
	}
	b.r.LogHashOnlyPerS, b.r.LogHashOnlyP50us, b.r.LogHashOnlyP99us = rate, pct(ds, .5), pct(ds, .99)
	if err := l.Close(); err != nil {
		return err
	}
	b.r.BytesPerEntry = float64(dirSize(b.main)) / float64(n)
	return nil
}

// logEncrypted logs up to 200,000 entries with encrypted content,
// durability none, and measures the rate, latencies and bytes per entry.
func (b *run) logEncrypted(ctx context.Context) error {
	b.r.EncryptedN = min(b.cfg.N, 200_000)
	b.step(fmt.Sprintf("log %d encrypted entries (durability none)", b.r.EncryptedN))
	key, err := seal.GenerateKey()
	if err != nil {
		return err
	}
	dir := filepath.Join(b.root, "encrypted")
	defer os.RemoveAll(dir)
	l, err := openLogger(ctx, dir, &filestore.Options{Durability: filestore.None},
		&comply.Options{Keyring: seal.NewKeyring(key), StoreContent: true})
	if err != nil {
		return err
	}
	rate, ds, err := logRun(ctx, l, b.ins, b.r.EncryptedN, b.cfg.Concurrency)
	l.Close()
	if err != nil {
		return err
	}
	b.r.LogEncryptedPerS, b.r.LogEncryptedP50us, b.r.LogEncryptedP99us = rate, pct(ds, .5), pct(ds, .99)
	b.r.BytesPerEntryCrypt = float64(dirSize(dir)) / float64(b.r.EncryptedN)
	return nil
}

// logDurable logs up to 100,000 entries from 64 callers, durability
// always, and times one fsync on the same disk for scale.
func (b *run) logDurable(ctx context.Context) error {
	b.r.DurableN = min(b.cfg.N, 100_000)
	b.step(fmt.Sprintf("log %d entries, durability always, 64 callers", b.r.DurableN))
	dir := filepath.Join(b.root, "durable")
	defer os.RemoveAll(dir)
	l, err := openLogger(ctx, dir, &filestore.Options{Durability: filestore.Always}, nil)
	if err != nil {
		return err
	}
	rate, ds, err := logRun(ctx, l, b.ins, b.r.DurableN, 64)
	l.Close()
	if err != nil {
		return err
	}
	b.r.LogDurableC64PerS, b.r.LogDurableC64P50us, b.r.LogDurableC64P99us = rate, pct(ds, .5), pct(ds, .99)
	b.r.FsyncP50us = fsyncP50(dir)
	return nil
}

// readBack opens the main data set read-only, as a fresh reader, and
// measures lookups by id, Count and a range query over everything.
func (b *run) readBack(ctx context.Context) error {
	l, err := openLogger(ctx, b.main, &filestore.Options{ReadOnly: true}, nil)
	if err != nil {
		return err
	}
	defer l.Close()
	for _, measure := range []func(context.Context, *comply.Logger) error{b.measureGets, b.measureCount, b.measureRange} {
		if err := measure(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

// measureGets looks up 10,000 ids sampled over the data set, in process.
func (b *run) measureGets(ctx context.Context, l *comply.Logger) error {
	b.step("get by id")
	ids, err := sampleIDs(ctx, l, 10_000, b.cfg.N)
	if err != nil {
		return err
	}
	b.ids = ids
	ds := make([]time.Duration, 0, len(ids))
	for _, id := range ids {
		t0 := time.Now()
		if _, err := l.Get(ctx, id); err != nil {
			return err
		}
		ds = append(ds, time.Since(t0))
	}
	b.r.GetP50us, b.r.GetP99us = pct(ds, .5), pct(ds, .99)
	return nil
}

// measureCount times Count, which must find every entry.
func (b *run) measureCount(ctx context.Context, l *comply.Logger) error {
	b.step("count")
	t0 := time.Now()
	if n, err := l.Count(ctx); err != nil || n != int64(b.cfg.N) {
		return fmt.Errorf("count = %d, %v; want %d", n, err, b.cfg.N)
	}
	b.r.CountMS = float64(time.Since(t0).Microseconds()) / 1000
	return nil
}

// measureRange times a range query over everything, decoding every entry,
// and samples the resident memory while it runs.
func (b *run) measureRange(ctx context.Context, l *comply.Logger) error {
	b.step("range query over all entries")
	t0 := time.Now()
	var seen int
	var peak float64
	for _, err := range l.Entries(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			return err
		}
		seen++
		if seen%100_000 == 0 {
			peak = max(peak, currentRSSMB())
		}
	}
	if seen != b.cfg.N {
		return fmt.Errorf("range query read %d entries, want %d", seen, b.cfg.N)
	}
	b.r.RangePerS = float64(seen) / time.Since(t0).Seconds()
	b.r.RangeRSSMB = max(peak, currentRSSMB())
	return nil
}

// coldGets times `comply get` in a new process each time, if cfg.Exe is
// set.
func (b *run) coldGets(ctx context.Context) error {
	if b.cfg.Exe == "" {
		return nil
	}
	b.step("cold comply get")
	var cold []time.Duration
	for i := range 10 {
		t0 := time.Now()
		out, err := exec.CommandContext(ctx, b.cfg.Exe, "--store", b.main, "get", b.ids[i*97%len(b.ids)]).CombinedOutput()
		if err != nil {
			return fmt.Errorf("cold get: %v: %s", err, out)
		}
		cold = append(cold, time.Since(t0))
	}
	b.r.ColdGetP50ms = pct(cold, .5) / 1000
	return nil
}

// cleanup times retention over the main data set, whose oldest tenth is
// past 365 days.
func (b *run) cleanup(ctx context.Context) error {
	b.step(fmt.Sprintf("cleanup of %d expired entries", b.old))
	l, err := openLogger(ctx, b.main, nil, nil)
	if err != nil {
		return err
	}
	t0 := time.Now()
	n, err := l.CleanupExpired(ctx)
	b.r.CleanupMS = float64(time.Since(t0).Microseconds()) / 1000
	b.r.CleanupDeleted = n
	l.Close()
	return err
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
