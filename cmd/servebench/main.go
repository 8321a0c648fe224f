// Command servebench measures comply serve on loopback, as a separate
// process, against the targets of docs/benchmarks.md:
//
//	go run ./cmd/servebench [-duration 5s] [-clients 16] [-batch 100] [-stream 1000000] [-idle 1000] [-signed]
//
// It builds the comply command (or takes -comply PATH), then:
//
//   - in-process: LogBatch of -batch interactions (500-byte input,
//     1,500-byte output) from -clients goroutines for -duration, into a file
//     store with durability always: the baseline;
//   - ingest: comply serve over a fresh store (durability always, a bearer
//     token), -idle idle keep-alive connections opened first, then -clients
//     clients POSTing JSON arrays of -batch interactions to /v1/entries for
//     -duration; then the same clients POSTing OTLP/HTTP protobuf exports of
//     -batch GenAI spans to /v1/traces. The server's resident memory
//     (VmRSS, sampled, and its peak VmHWM) is read from /proc;
//   - stream: -stream entries written in-process into another store, then
//     served by comply serve and read back whole with GET /v1/entries and
//     Accept: application/x-ndjson.
//
// With -signed both the baseline and the servers keep a signed ledger
// (a key made with 'comply keygen --signing').
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store/filestore"
)

var (
	complyBin = flag.String("comply", "", "the comply command to run (`PATH`); default: build it")
	duration  = flag.Duration("duration", 5*time.Second, "length of each load run")
	clients   = flag.Int("clients", 16, "concurrent clients")
	batch     = flag.Int("batch", 100, "interactions (or spans) per request")
	streamN   = flag.Int("stream", 1_000_000, "entries served by the NDJSON stream run (0 skips it)")
	idle      = flag.Int("idle", 1000, "idle keep-alive connections held open during the ingest runs")
	signed    = flag.Bool("signed", false, "keep a signed ledger in every store")
)

func main() {
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("servebench: ")
	dir, err := os.MkdirTemp("", "servebench")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := *complyBin
	if bin == "" {
		bin = filepath.Join(dir, "comply")
		build := exec.Command("go", "build", "-o", bin, "github.com/complyhq/comply/cmd/comply")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			log.Fatalf("go build: %v", err)
		}
	}
	var key string
	if *signed {
		key = filepath.Join(dir, "bench")
		run(bin, "keygen", "--signing", "--out", key)
		key += ".signer"
	}
	fmt.Printf("machine: %d CPUs, %s; interactions of %d + %d bytes, batches of %d, %d clients, %s per run, signed ledger: %v\n\n",
		runtime.NumCPU(), runtime.GOARCH, len(input), len(output), *batch, *clients, *duration, *signed)

	base := inProcess(filepath.Join(dir, "inproc"), key)
	fmt.Printf("in-process LogBatch (durability always):   %9.0f entries/s\n", base)

	srv := start(bin, filepath.Join(dir, "api"), key, "always")
	conns := holdIdle(srv.addr, *idle)
	fmt.Printf("idle keep-alive connections held open:     %9d\n", len(conns))
	api := srv.load(func(c *http.Client) (int, error) { return srv.postEntries(c) })
	fmt.Printf("POST /v1/entries (durability always):      %9.0f entries/s (%.0f%% of in-process)\n", api.rate, 100*api.rate/base)
	otlp := srv.load(func(c *http.Client) (int, error) { return srv.postSpans(c) })
	fmt.Printf("POST /v1/traces, GenAI spans (protobuf):   %9.0f spans/s\n", otlp.rate)
	fmt.Printf("server memory during ingest:  RSS max %.0f MB sampled, peak (VmHWM) %.0f MB\n", max(api.rssMB, otlp.rssMB), srv.memMB("VmHWM"))
	for _, c := range conns {
		c.Close()
	}
	srv.stop()

	if *streamN > 0 {
		sdir := filepath.Join(dir, "stream")
		fill(sdir, *streamN, key)
		srv := start(bin, sdir, key, "none")
		n, bytes, d := srv.stream()
		srv.stop()
		if n != *streamN {
			log.Fatalf("stream: %d entries, want %d", n, *streamN)
		}
		fmt.Printf("GET /v1/entries NDJSON stream of %d:   %9.0f entries/s (%.0f MB/s, %s)\n", n, float64(n)/d.Seconds(), float64(bytes)/d.Seconds()/1e6, d.Round(time.Millisecond))
	}
}

var (
	input  = strings.Repeat("What is the weather like in Paris today? ", 13)[:500]
	output = strings.Repeat("I do not have access to real-time weather data, but here is how to find it. ", 20)[:1500]
)

// interactions returns a batch of n interactions.
func interactions(n int) []comply.Interaction {
	ins := make([]comply.Interaction, n)
	for i := range ins {
		ins[i] = comply.Interaction{
			Input: input, Output: output, Provider: "openai", Model: "gpt-4.1",
			ConversationID: fmt.Sprintf("conv-%d", i%50), Latency: 812 * time.Millisecond,
			InputTokens: comply.Tokens(120), OutputTokens: comply.Tokens(380),
			Metadata: map[string]any{"user_id": fmt.Sprintf("u%d", i%1000), "team": "search"},
		}
	}
	return ins
}

// openLogger opens a file store in dir and a Logger over it, signed when
// key names a signer file.
func openLogger(ctx context.Context, dir, key string, d filestore.Durability) *comply.Logger {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Fatal(err)
	}
	s, err := filestore.Open(ctx, dir, &filestore.Options{Durability: d})
	if err != nil {
		log.Fatal(err)
	}
	var l *comply.Logger
	if key == "" {
		l, err = comply.New(s, nil)
	} else {
		var signer *ledger.Signer
		if signer, err = ledger.LoadSigner(key); err != nil {
			log.Fatal(err)
		}
		l, err = comply.NewWithIntegrity(ctx, s, nil, &comply.IntegrityOptions{Signer: signer})
	}
	if err != nil {
		log.Fatal(err)
	}
	return l
}

// inProcess returns the rate of LogBatch calls from -clients goroutines.
func inProcess(dir, key string) float64 {
	ctx := context.Background()
	l := openLogger(ctx, dir, key, filestore.Always)
	defer l.Close()
	ins := interactions(*batch)
	var n atomic.Int64
	deadline := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range *clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := l.LogBatch(ctx, ins...); err != nil {
					log.Fatal(err)
				}
				n.Add(int64(len(ins)))
			}
		})
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}

// fill writes n entries into a new store in dir, fast (durability none).
func fill(dir string, n int, key string) {
	ctx := context.Background()
	l := openLogger(ctx, dir, key, filestore.None)
	ins := interactions(1000)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range runtime.NumCPU() {
		wg.Go(func() {
			for {
				k := int(next.Add(int64(len(ins))))
				if k > n+len(ins)-1 {
					return
				}
				part := ins[:min(len(ins), n-(k-len(ins)))]
				if _, err := l.LogBatch(ctx, part...); err != nil {
					log.Fatal(err)
				}
			}
		})
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		log.Fatal(err)
	}
}

// run runs the comply command and returns its standard output.
func run(bin string, args ...string) string {
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		log.Fatalf("comply %s: %v\n%s", strings.Join(args, " "), err, errb.Bytes())
	}
	return out.String()
}

// server is a running comply serve.
type server struct {
	cmd   *exec.Cmd
	addr  string
	token string
	spans []byte // one OTLP export of -batch GenAI spans
	body  []byte // one JSON array of -batch interactions
	done  chan struct{}
}

var addrRE = regexp.MustCompile(`http://(127\.0\.0\.1:\d+)`)

// start creates an admin token for the store in dir and starts comply serve
// on it, on a free loopback port.
func start(bin, dir, key, durability string) *server {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Fatal(err)
	}
	token := strings.TrimSpace(run(bin, "token", "create", "--store", dir, "--name", "bench", "--role", "admin"))
	args := []string{"serve", "--store", dir, "--listen", "127.0.0.1:0", "--durability", durability}
	if key != "" {
		args = append(args, "--signing-key", key)
	}
	cmd := exec.Command(bin, args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		log.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	s := &server{cmd: cmd, token: token, done: make(chan struct{})}
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := addrRE.FindStringSubmatch(sc.Text()); m != nil && s.addr == "" {
				found <- m[1]
			}
			if strings.Contains(sc.Text(), "level=ERROR") || strings.Contains(sc.Text(), "error:") {
				fmt.Fprintln(os.Stderr, "server:", sc.Text())
			}
		}
		close(s.done)
	}()
	select {
	case s.addr = <-found:
	case <-s.done:
		log.Fatal("comply serve exited before listening")
	case <-time.After(time.Minute):
		log.Fatal("comply serve did not print its address within a minute")
	}
	s.body = entriesBody(*batch)
	s.spans = spansBody(*batch)
	return s
}

// stop stops the server with SIGTERM and waits for it to exit.
func (s *server) stop() {
	s.cmd.Process.Signal(os.Interrupt)
	<-s.done
	if err := s.cmd.Wait(); err != nil {
		log.Fatalf("comply serve: %v", err)
	}
}

// memMB returns the server's memory figure named field in
// /proc/PID/status (VmRSS, VmHWM), in MB.
func (s *server) memMB(field string) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	for l := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(l, field+":"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// holdIdle opens n keep-alive connections, each after one answered request,
// and leaves them idle.
func holdIdle(addr string, n int) []net.Conn {
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			log.Fatalf("idle connection %d: %v", len(conns), err)
		}
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			log.Fatalf("idle connection %d: %v", len(conns), err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		conns = append(conns, c)
	}
	return conns
}

// result is one load run's throughput and the server's RSS during it.
type result struct {
	rate  float64
	rssMB float64
}

// load runs do from -clients clients for -duration, sampling the
// server's RSS, and returns the items per second do reported.
func (s *server) load(do func(*http.Client) (int, error)) result {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *clients, DisableCompression: true}}
	defer client.CloseIdleConnections()
	var n atomic.Int64
	var rss atomic.Uint64
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				if m := uint64(s.memMB("VmRSS")); m > rss.Load() {
					rss.Store(m)
				}
			}
		}
	}()
	deadline := time.Now().Add(*duration)
	start := time.Now()
	var wg sync.WaitGroup
	for range *clients {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				k, err := do(client)
				if err != nil {
					log.Fatal(err)
				}
				n.Add(int64(k))
			}
		})
	}
	wg.Wait()
	close(stop)
	return result{rate: float64(n.Load()) / time.Since(start).Seconds(), rssMB: float64(rss.Load())}
}

// post sends body to path and returns the answer's body, failing on any
// status but 200.
func (s *server) post(c *http.Client, path, contentType string, body []byte) ([]byte, error) {
	req, err := http.NewRequest("POST", "http://"+s.addr+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST %s: %s: %.200s", path, resp.Status, b)
	}
	return b, nil
}

func (s *server) postEntries(c *http.Client) (int, error) {
	b, err := s.post(c, "/v1/entries", "application/json", s.body)
	if err != nil {
		return 0, err
	}
	var r struct{ IDs []string }
	if err := json.Unmarshal(b, &r); err != nil || len(r.IDs) != *batch {
		return 0, fmt.Errorf("POST /v1/entries: %d ids (%v) in %.200s", len(r.IDs), err, b)
	}
	return len(r.IDs), nil
}

func (s *server) postSpans(c *http.Client) (int, error) {
	if _, err := s.post(c, "/v1/traces", "application/x-protobuf", s.spans); err != nil {
		return 0, err
	}
	return *batch, nil
}

// entriesBody returns a JSON array of n interactions, as POST /v1/entries
// takes them: the keyword arguments of the seed's log().
func entriesBody(n int) []byte {
	type item struct {
		Input          string         `json:"input"`
		Output         string         `json:"output"`
		Provider       string         `json:"provider"`
		Model          string         `json:"model"`
		ConversationID string         `json:"conversation_id"`
		LatencyMS      float64        `json:"latency_ms"`
		InputTokens    int            `json:"input_tokens"`
		OutputTokens   int            `json:"output_tokens"`
		Metadata       map[string]any `json:"metadata"`
	}
	items := make([]item, n)
	for i, in := range interactions(n) {
		items[i] = item{in.Input, in.Output, in.Provider, in.Model, in.ConversationID, 812, 120, 380, in.Metadata.(map[string]any)}
	}
	b, err := json.Marshal(items)
	if err != nil {
		log.Fatal(err)
	}
	return b
}

// stream reads every entry with GET /v1/entries as NDJSON and returns how
// many lines and bytes came, and how long it took.
func (s *server) stream() (n int, size int64, d time.Duration) {
	req, err := http.NewRequest("GET", "http://"+s.addr+"/v1/entries", nil)
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("Accept", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+s.token)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		log.Fatalf("GET /v1/entries: %s: %.200s", resp.Status, b)
	}
	r := bufio.NewReaderSize(resp.Body, 1<<20)
	for {
		line, err := r.ReadSlice('\n')
		size += int64(len(line))
		if err == bufio.ErrBufferFull {
			log.Fatal("stream: a line over 1 MiB")
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			log.Fatal(err)
		}
		n++
	}
	return n, size, time.Since(start)
}
