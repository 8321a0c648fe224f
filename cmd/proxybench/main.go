// Command proxybench measures the latency that the comply proxy adds to an
// LLM API call, on loopback, against a fast local upstream.
//
//	go run ./cmd/proxybench [-rate 500] [-duration 5s] [-sat 3s]
//
// It runs the load generator, the upstream and the proxies as separate
// processes, so that they do not share a Go scheduler: itself (the load
// generator), an upstream (package llmtest's fake API, which answers a chat
// completion in microseconds) and three proxies over file stores in a
// temporary directory, with durability none, interval and always. It measures one fsync on the
// same disk (before and after the runs), then:
//
//   - open loop: requests sent at a fixed rate (a new request every 1/rate
//     seconds, whether or not the earlier ones are answered), directly and
//     through each proxy, and the latency percentiles of each;
//   - closed loop: -conc clients sending back to back, to find the
//     proxy's saturation point (its throughput) and the latency there.
//
// Every address is on 127.0.0.1; every run is bounded in time.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/proxy"
	"github.com/complyhq/comply/store/filestore"
)

var (
	role       = flag.String("role", "", "internal: upstream or proxy")
	upstreamF  = flag.String("upstream", "", "internal: the proxy's upstream URL")
	storeF     = flag.String("store", "", "internal: the proxy's store directory")
	durF       = flag.String("durability", "interval", "internal: the proxy's durability")
	rate       = flag.Int("rate", 500, "open-loop request `rate` per second")
	duration   = flag.Duration("duration", 5*time.Second, "length of each open-loop run")
	satDur     = flag.Duration("sat", 3*time.Second, "length of each closed-loop (saturation) run")
	conc       = flag.Int("conc", 16, "closed-loop concurrency")
	streamMode = flag.Bool("stream", false, "request streamed (SSE) answers")
	profile    = flag.String("cpuprofile", "", "write the proxies' CPU profiles to `DIR`/<durability>.pprof")
)

const reqJSON = `{"model":"gpt-4.1","messages":[{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"What is the weather like in Paris today?"}]%s}`

func main() {
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("proxybench: ")
	switch *role {
	case "upstream":
		serve(&llmtest.Handler{})
	case "proxy":
		runProxy()
	case "":
		bench()
	default:
		log.Fatalf("unknown role %q", *role)
	}
}

// serve serves h on a loopback port, prints the address, and exits when
// standard input closes (when the parent exits).
func serve(h http.Handler) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("ADDR %s\n", ln.Addr())
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	io.Copy(io.Discard, os.Stdin)
	srv.Close()
}

func runProxy() {
	d, err := filestore.ParseDurability(*durF)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	s, err := filestore.Open(ctx, *storeF, &filestore.Options{Durability: d})
	if err != nil {
		log.Fatal(err)
	}
	l, err := comply.New(s, nil)
	if err != nil {
		log.Fatal(err)
	}
	u, err := url.Parse(*upstreamF)
	if err != nil {
		log.Fatal(err)
	}
	t := &llm.Transport{Logger: l, Base: proxy.UpstreamTransport()}
	if *profile != "" {
		f, err := os.Create(filepath.Join(*profile, *durF+".pprof"))
		if err != nil {
			log.Fatal(err)
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	serve(proxy.New(u, t))
	st := t.Stats()
	l.Close()
	if st.WriteFailed > 0 {
		log.Fatalf("proxy (%s): %d write failures", *durF, st.WriteFailed)
	}
}

// child starts this program in a role and returns its address and a stop
// function.
func child(args ...string) (addr string, stop func()) {
	exe, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		log.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		log.Fatalf("%v: %q %v", args, line, err)
	}
	return strings.TrimSpace(line[5:]), func() {
		in.Close()
		cmd.Wait()
	}
}

type target struct{ name, url string }

func bench() {
	dir, err := os.MkdirTemp("", "proxybench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	up, stopUp := child("-role", "upstream")
	defer stopUp()
	upURL := "http://" + up
	targets := []target{{"direct", upURL}}
	for _, d := range []string{"none", "interval", "always"} {
		addr, stop := child("-role", "proxy", "-upstream", upURL, "-store", filepath.Join(dir, d), "-durability", d, "-cpuprofile", *profile)
		defer stop()
		targets = append(targets, target{"proxy, durability " + d, "http://" + addr})
	}

	fs := measureFsync(dir)
	fmt.Printf("machine: %d CPUs (shared), loopback; one fsync on the store's disk before the runs: p50 %s, p99 %s (200 samples)\n",
		nprocs(), ms(fs.p(50)), ms(fs.p(99)))
	defer func() {
		fs := measureFsync(dir)
		fmt.Printf("\none fsync on the store's disk after the runs: p50 %s, p99 %s (200 samples)\n", ms(fs.p(50)), ms(fs.p(99)))
	}()
	mode := "plain JSON"
	if *streamMode {
		mode = "streamed (SSE)"
	}
	fmt.Printf("requests: POST /v1/chat/completions, %s answers of %d bytes\n\n", mode, answerSize(upURL))

	client := &http.Client{Transport: &http.Transport{
		MaxIdleConns: 2048, MaxIdleConnsPerHost: 2048, IdleConnTimeout: time.Minute, DisableCompression: true,
	}}
	// Warm up connections and caches.
	for _, t := range targets {
		openLoop(client, t.url, *rate, time.Second)
	}

	fmt.Printf("open loop, %d requests/s for %s:\n", *rate, *duration)
	fmt.Printf("| %-26s | %8s | %8s | %8s | %12s | %12s | %6s | %14s |\n", "target", "p50", "p90", "p99", "added p50", "added p99", "errors", "fsync p50/p99")
	fmt.Printf("|%s|%s|%s|%s|%s|%s|%s|%s|\n", dash(28), dash(10), dash(10), dash(10), dash(14), dash(14), dash(8), dash(22))
	var base lat
	for i, t := range targets {
		stop := probeFsync(dir)
		r := openLoop(client, t.url, *rate, *duration)
		fs := stop()
		if i == 0 {
			base = r.lat
		}
		row(t.name, r, base, i > 0, fs)
	}

	fmt.Printf("\n(fsync p50/p99: a probe appending and fsyncing a line every 50 ms on the store's disk during the run)\n")
	fmt.Printf("\nclosed loop (saturation), %d concurrent clients for %s:\n", *conc, *satDur)
	fmt.Printf("| %-26s | %10s | %8s | %8s | %6s |\n", "target", "req/s", "p50", "p99", "errors")
	fmt.Printf("|%s|%s|%s|%s|%s|\n", dash(28), dash(12), dash(10), dash(10), dash(8))
	for _, t := range targets {
		r := closedLoop(client, t.url, *conc, *satDur)
		fmt.Printf("| %-26s | %10.0f | %8s | %8s | %6d |\n", t.name, r.rps, ms(r.lat.p(50)), ms(r.lat.p(99)), r.errors)
	}
}

func dash(n int) string { return strings.Repeat("-", n) }

func row(name string, r run, base lat, added bool, fs lat) {
	a50, a99 := "", ""
	if added {
		a50 = ms(r.lat.p(50) - base.p(50))
		a99 = ms(r.lat.p(99) - base.p(99))
	}
	fmt.Printf("| %-26s | %8s | %8s | %8s | %12s | %12s | %6d | %6.2f/%6.2f ms |\n", name, ms(r.lat.p(50)), ms(r.lat.p(90)), ms(r.lat.p(99)), a50, a99, r.errors,
		float64(fs.p(50))/1e6, float64(fs.p(99))/1e6)
	if r.firstErr != nil {
		log.Printf("%s: first error: %v", name, r.firstErr)
	}
}

// probeFsync times an append and fsync of a 512-byte line every 50 ms in
// dir, until the returned function is called, which returns the times.
func probeFsync(dir string) func() lat {
	f, err := os.CreateTemp(dir, "probe")
	if err != nil {
		log.Fatal(err)
	}
	done := make(chan struct{})
	out := make(chan lat)
	go func() {
		defer f.Close()
		line := append(bytes.Repeat([]byte("x"), 511), '\n')
		var l lat
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				slices.Sort(l)
				out <- l
				return
			case <-tick.C:
			}
			f.Write(line)
			start := time.Now()
			f.Sync()
			l = append(l, time.Since(start))
		}
	}()
	return func() lat { close(done); return <-out }
}

func ms(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }

func nprocs() int {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\nprocessor")) + 1
}

// lat is a sorted set of latencies.
type lat []time.Duration

func (l lat) p(q float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	i := int(q / 100 * float64(len(l)))
	return l[min(i, len(l)-1)]
}

type run struct {
	lat      lat
	errors   int64
	firstErr error
	rps      float64
}

func body() string {
	if *streamMode {
		return fmt.Sprintf(reqJSON, `,"stream":true,"stream_options":{"include_usage":true}`)
	}
	return fmt.Sprintf(reqJSON, "")
}

// call sends one request and returns its latency, until the whole answer
// is read.
func call(client *http.Client, u string) (time.Duration, error) {
	req, _ := http.NewRequest(http.MethodPost, u+"/v1/chat/completions", strings.NewReader(body()))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-bench")
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	d := time.Since(start)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("status %d", resp.StatusCode)
	}
	return d, err
}

func answerSize(u string) int {
	req, _ := http.NewRequest(http.MethodPost, u+"/v1/chat/completions", strings.NewReader(body()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return len(b)
}

// openLoop sends rate requests per second for d, each on its schedule.
func openLoop(client *http.Client, u string, rate int, d time.Duration) run {
	n := int(float64(rate) * d.Seconds())
	every := time.Second / time.Duration(rate)
	res := make([]time.Duration, n)
	var errs atomic.Int64
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		if w := time.Until(start.Add(time.Duration(i) * every)); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			d, err := call(client, u)
			if err != nil {
				errs.Add(1)
				first.CompareAndSwap(nil, &err)
				d = -1
			}
			res[i] = d
		}()
	}
	wg.Wait()
	r := summarize(res, errs.Load(), 0)
	if e := first.Load(); e != nil {
		r.firstErr = *e
	}
	return r
}

// closedLoop runs conc clients back to back for d.
func closedLoop(client *http.Client, u string, conc int, d time.Duration) run {
	var mu sync.Mutex
	var res []time.Duration
	var errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				d, err := call(client, u)
				if err != nil {
					errs.Add(1)
					continue
				}
				mine = append(mine, d)
			}
			mu.Lock()
			res = append(res, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return summarize(res, errs.Load(), time.Since(start))
}

func summarize(res []time.Duration, errs int64, elapsed time.Duration) run {
	ok := slices.DeleteFunc(res, func(d time.Duration) bool { return d < 0 })
	slices.Sort(ok)
	r := run{lat: ok, errors: errs}
	if elapsed > 0 {
		r.rps = float64(len(ok)) / elapsed.Seconds()
	}
	return r
}

// measureFsync times 200 appends of a 512-byte line, each followed by
// fsync, in dir.
func measureFsync(dir string) lat {
	f, err := os.Create(filepath.Join(dir, "fsync.test"))
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	line := append(bytes.Repeat([]byte("x"), 511), '\n')
	var l lat
	for range 200 {
		if _, err := f.Write(line); err != nil {
			log.Fatal(err)
		}
		start := time.Now()
		if err := f.Sync(); err != nil {
			log.Fatal(err)
		}
		l = append(l, time.Since(start))
	}
	slices.Sort(l)
	return l
}
