package proxy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/proxy"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/memstore"
)

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// discardUpstream reads each request body to its end without keeping it,
// checks its hash, and answers a small chat completion.
func discardUpstream(t *testing.T, want map[string]bool, mu *sync.Mutex) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		io.Copy(h, r.Body)
		mu.Lock()
		if !want[hex.EncodeToString(h.Sum(nil))] {
			t.Errorf("the upstream got a body that was not sent")
		}
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c","model":"gpt-4.1","choices":[{"index":0,"message":{"content":"ok"},"finish_reason":"stop"}]}`)
	})
}

// TestMemoryBudget sends concurrent large bodies through a proxy whose
// memory budget holds one: the heap does not grow by the bodies' total,
// the budget is never exceeded, every body reaches the upstream intact,
// and every entry's input_hash is the hash of the real bytes: of the user
// message for a body parsed, of the whole body for a body streamed.
func TestMemoryBudget(t *testing.T) {
	const (
		n      = 8
		size   = 4 << 20
		budget = 5 << 20
	)
	content := bytes.Repeat([]byte("abcdefgh"), size/8)
	bodies := make([][]byte, n)
	want := map[string]bool{}
	var mu sync.Mutex
	for i := range bodies {
		content[0] = byte('A' + i) // each body differs
		bodies[i] = fmt.Appendf(nil, `{"model":"gpt-4.1","messages":[{"role":"user","content":%q}]}`, content)
		want[sha(bodies[i])] = true
	}
	up := httptest.NewServer(discardUpstream(t, want, &mu))
	defer up.Close()
	u, _ := url.Parse(up.URL)
	logger := memLogger(t)
	tr := &llm.Transport{Logger: logger, Base: proxy.UpstreamTransport(), MaxBuffered: budget, OnError: func(err error) { t.Error(err) }}
	p := httptest.NewServer(proxy.New(u, tr))
	defer p.Close()

	// Watch the heap and the budget while the calls run. A low GC target
	// makes the heap track what is held rather than garbage.
	defer debug.SetGCPercent(debug.SetGCPercent(5))
	var peakHeap, peakHeld atomic.Int64
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := int64(ms.HeapInuse)
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if v := int64(ms.HeapInuse) - base; v > peakHeap.Load() {
				peakHeap.Store(v)
			}
			if v := tr.Stats().Buffered; v > peakHeld.Load() {
				peakHeld.Store(v)
			}
		}
	}()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, p.URL+"/v1/chat/completions", bytes.NewReader(bodies[i]))
			if i%2 == 1 {
				req.ContentLength = -1 // chunked: the length is learnt as it comes
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(stop)
	<-watched

	total := int64(n * len(bodies[0]))
	t.Logf("%d bodies of %d bytes (%d MiB in all), budget %d MiB: heap grew by at most %.1f MiB, budget held at most %.1f MiB, %d bodies streamed",
		n, len(bodies[0]), total>>20, budget>>20, float64(peakHeap.Load())/(1<<20), float64(peakHeld.Load())/(1<<20), tr.Stats().Streamed)
	if peakHeld.Load() > budget {
		t.Errorf("the budget held %d bytes, more than %d", peakHeld.Load(), budget)
	}
	// A body parsed costs a few times its size while it is parsed (the
	// JSON decoder's copies of the messages and of the text): allow three
	// budgets and some slack, well under the bodies' total.
	if limit := int64(3*budget + 4<<20); peakHeap.Load() > limit {
		t.Errorf("the heap grew by %d bytes (limit %d) for %d bytes of bodies: they were buffered", peakHeap.Load(), limit, total)
	}
	if tr.Stats().Streamed == 0 {
		t.Errorf("no body was streamed: the budget did not bind")
	}
	if got := tr.Stats().Buffered; got != 0 {
		t.Errorf("%d bytes of the budget still held after the calls", got)
	}
	msgHash := map[string]bool{}
	for i := range n {
		c := bytes.Clone(content)
		c[0] = byte('A' + i)
		msgHash[sha(c)] = true
	}
	for _, e := range waitEntries(t, logger, n) {
		streamed := len(e.Alerts) > 0 && strings.Contains(e.Alerts[0], "streamed upstream unparsed")
		switch {
		case streamed && !want[e.InputHash]:
			t.Errorf("streamed: input_hash %s is not the hash of a body sent (alerts %q)", e.InputHash, e.Alerts)
		case !streamed && !msgHash[e.InputHash]:
			t.Errorf("parsed: input_hash %s is not the hash of a message sent (alerts %q)", e.InputHash, e.Alerts)
		}
		if !e.SafetyPassed {
			t.Errorf("block_reason %q", e.BlockReason)
		}
	}
}

// TestUpstreamTimeouts: an upstream that sends no headers, or stops
// mid-stream, fails the call within its timeout, with an entry that says
// which timeout fired.
func TestUpstreamTimeouts(t *testing.T) {
	const d = 200 * time.Millisecond
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		wantStatus int    // 0: the response is cut
		wantReason string // in the error message
	}{
		{"no headers", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		}, http.StatusGatewayTimeout, "no response headers within 200ms"},
		{"silent mid-stream", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "text/event-stream")
			io.WriteString(w, "data: {\"id\":\"c\",\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"}}]}\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done()
		}, 0, "the upstream sent nothing for 200ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := httptest.NewServer(tt.handler)
			defer up.Close()
			u, _ := url.Parse(up.URL)
			logger := memLogger(t)
			tr := &llm.Transport{Logger: logger, Base: proxy.WithTimeouts(proxy.UpstreamTransport(), d, d), OnError: func(err error) { t.Error(err) }}
			p := httptest.NewServer(proxy.New(u, tr))
			defer p.Close()
			start := time.Now()
			resp, _, err := post(t, p.URL, "/v1/chat/completions", `{"model":"gpt-4.1","messages":[{"role":"user","content":"Hello!"}],"stream":true}`)
			took := time.Since(start)
			if took > 3*time.Second {
				t.Errorf("the call took %s", took)
			}
			t.Logf("the call ended after %s", took.Round(time.Millisecond))
			if tt.wantStatus != 0 && (err != nil || resp.StatusCode != tt.wantStatus) {
				t.Errorf("got %v %v, want status %d", resp, err, tt.wantStatus)
			}
			if tt.wantStatus == 0 && err == nil {
				t.Errorf("the cut response read without error")
			}
			e := waitEntries(t, logger, 1)[0]
			if typ, msg := callError(t, e); typ != llm.ErrorTimeout || !strings.Contains(msg, tt.wantReason) {
				t.Errorf("error %s %q, want a timeout holding %q", typ, msg, tt.wantReason)
			}
		})
	}
}

// switchStore fails its appends while failing is set.
type switchStore struct {
	store.Store
	failing atomic.Bool
}

func (s *switchStore) Append(ctx context.Context, rs ...store.Record) error {
	if s.failing.Load() {
		return errors.New("disk full")
	}
	return s.Store.Append(ctx, rs...)
}

func (s *switchStore) Scan(ctx context.Context, q store.Query) iter.Seq2[store.Record, error] {
	return s.Store.Scan(ctx, q)
}

// TestHealthzDegraded: /healthz says degraded, with a 503 and a reason,
// after a write failure, and ok again after an entry is written.
func TestHealthzDegraded(t *testing.T) {
	st := &switchStore{Store: memstore.New(0)}
	logger, err := comply.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer logger.Close()
	up := llmtest.NewServer()
	defer up.Close()
	u, _ := url.Parse(up.URL)
	tr := &llm.Transport{Logger: logger, Base: proxy.UpstreamTransport(), FailOpen: true, OnError: func(error) {}}
	p := httptest.NewServer(proxy.New(u, tr))
	defer p.Close()
	steps := []struct {
		failing    bool
		wantStatus int
		want       string
	}{
		{false, 200, "ok"},
		{true, 503, "degraded"},
		{true, 503, "degraded"},
		{false, 200, "ok"},
	}
	for i, s := range steps {
		st.failing.Store(s.failing)
		if _, _, err := post(t, p.URL, rawCases[0].path, rawCases[0].body); err != nil {
			t.Fatal(err)
		}
		resp, body, err := get(p.URL + proxy.HealthPath)
		if err != nil {
			t.Fatal(err)
		}
		var h map[string]any
		if err := json.Unmarshal(body, &h); err != nil {
			t.Fatalf("healthz body %q: %v", body, err)
		}
		if resp.StatusCode != s.wantStatus || h["status"] != s.want {
			t.Errorf("step %d: healthz %d %s, want %d %s", i, resp.StatusCode, body, s.wantStatus, s.want)
		}
		if s.want == "degraded" && !strings.Contains(fmt.Sprint(h["reason"]), "could not be written") {
			t.Errorf("step %d: reason %v", i, h["reason"])
		}
	}
}

// TestClientBodyTimeout: a client that stops sending its body is dropped
// after the body timeout.
func TestClientBodyTimeout(t *testing.T) {
	up := llmtest.NewServer()
	defer up.Close()
	u, _ := url.Parse(up.URL)
	logger := memLogger(t)
	tr := &llm.Transport{Logger: logger, Base: proxy.UpstreamTransport(), OnError: func(error) {}}
	p := httptest.NewServer(proxy.NewWithOptions(u, tr, proxy.Options{BodyReadTimeout: 300 * time.Millisecond}))
	defer p.Close()
	conn, err := net.Dial("tcp", p.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"model\":")
	start := time.Now()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(conn)
	took := time.Since(start)
	t.Logf("slow client dropped after %s: %q", took.Round(time.Millisecond), firstLine(b))
	if took > 3*time.Second {
		t.Errorf("the slow client held the connection %s", took)
	}
	e := waitEntries(t, logger, 1)[0]
	if typ, msg := callError(t, e); typ != llm.ErrorRequest || !strings.Contains(msg, "request") {
		t.Errorf("error %s %q", typ, msg)
	}
	// A long streamed answer to a request whose body arrived is not cut by
	// the body timeout.
	up.Handler.Text = strings.Repeat("word ", 10)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 8 {
			fmt.Fprintf(w, "data: {\"id\":\"c\",\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%d \"}}]}\n\n", i)
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
		}
		io.WriteString(w, "data: {\"id\":\"c\",\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	}))
	defer slow.Close()
	su, _ := url.Parse(slow.URL)
	logger2 := memLogger(t)
	tr2 := &llm.Transport{Logger: logger2, Base: proxy.UpstreamTransport(), OnError: func(err error) { t.Error(err) }}
	p2 := httptest.NewServer(proxy.NewWithOptions(su, tr2, proxy.Options{BodyReadTimeout: 300 * time.Millisecond}))
	defer p2.Close()
	if _, _, err := post(t, p2.URL, "/v1/chat/completions", `{"model":"gpt-4.1","messages":[{"role":"user","content":"Hi"}],"stream":true}`); err != nil {
		t.Fatal(err)
	}
	if e := waitEntries(t, logger2, 1)[0]; !e.SafetyPassed {
		t.Errorf("long stream: block_reason %q", e.BlockReason)
	}
}

func firstLine(b []byte) string {
	s, _, _ := strings.Cut(string(b), "\r\n")
	return s
}

// TestBadMetadataHeaderThroughProxy: an X-Comply-Metadata header that is
// not a JSON object is dropped with an alert; the call goes on.
func TestBadMetadataHeaderThroughProxy(t *testing.T) {
	for _, v := range []string{`[1,2]`, `not json`, `{"a":`, `null`, `{"a":1} {"b":2}`} {
		t.Run(v, func(t *testing.T) {
			up := llmtest.NewServer()
			defer up.Close()
			logger := memLogger(t)
			pu, _ := setup(t, up, logger, false)
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, pu+rawCases[0].path, strings.NewReader(rawCases[0].body))
			req.Header.Set(llm.HeaderMetadata, v)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			e := waitEntries(t, logger, 1)[0]
			if resp.StatusCode != 200 || !e.SafetyPassed || len(e.Alerts) != 1 || !strings.Contains(e.Alerts[0], llm.HeaderMetadata) {
				t.Errorf("status %d, alerts %q", resp.StatusCode, e.Alerts)
			}
		})
	}
}
