package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/server"
	"github.com/complyhq/comply/store/filestore"
)

var (
	benchInput  = strings.Repeat("What is the weather like in Paris today? ", 13)[:500]
	benchOutput = strings.Repeat("I do not have access to real-time weather data, but here is how. ", 24)[:1500]
)

func benchServer(b *testing.B, d filestore.Durability) (*comply.Logger, *httptest.Server) {
	st, err := filestore.Open(b.Context(), b.TempDir(), &filestore.Options{Durability: d})
	if err != nil {
		b.Fatal(err)
	}
	l, err := comply.New(st, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	srv, err := server.New(server.Options{Logger: l, InsecureNoAuth: true, Access: &recorder{}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(ts.Close)
	return l, ts
}

// BenchmarkPostEntries posts batches of 100 interactions from 16 clients,
// durability always; LogBatch is the same load in-process.
func BenchmarkPostEntries(b *testing.B) {
	items := make([]map[string]any, 100)
	for i := range items {
		items[i] = map[string]any{"input": benchInput, "output": benchOutput, "provider": "openai", "model": "gpt-4.1",
			"latency_ms": 812, "input_tokens": 120, "output_tokens": 380, "metadata": map[string]any{"user_id": fmt.Sprint("u", i)}}
	}
	body, _ := json.Marshal(items)
	_, ts := benchServer(b, filestore.Always)
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // 16 clients
	start := time.Now()
	var mu sync.Mutex
	n := 0
	b.RunParallel(func(pb *testing.PB) {
		c := ts.Client()
		for pb.Next() {
			resp, err := c.Post(ts.URL+"/v1/entries", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
			mu.Lock()
			n += 100
			mu.Unlock()
		}
	})
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
}

// BenchmarkStream streams 200,000 entries as NDJSON.
func BenchmarkStream(b *testing.B) {
	l, ts := benchServer(b, filestore.None)
	ins := make([]comply.Interaction, 1000)
	for i := range ins {
		ins[i] = comply.Interaction{Input: benchInput, Output: benchOutput, Provider: "openai", Model: "gpt-4.1",
			Latency: 812 * time.Millisecond, InputTokens: comply.Tokens(120), OutputTokens: comply.Tokens(380),
			Metadata: map[string]any{"user_id": fmt.Sprint("u", i)}}
	}
	const total = 200_000
	for range total / len(ins) {
		if _, err := l.LogBatch(b.Context(), ins...); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		req, _ := http.NewRequest("GET", ts.URL+"/v1/entries", nil)
		req.Header.Set("Accept", "application/x-ndjson")
		resp, err := ts.Client().Do(req)
		if err != nil {
			b.Fatal(err)
		}
		nl := 0
		buf := make([]byte, 1<<20)
		for {
			k, err := resp.Body.Read(buf)
			nl += bytes.Count(buf[:k], []byte("\n"))
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		if nl != total {
			b.Fatalf("%d lines, want %d", nl, total)
		}
	}
	b.ReportMetric(float64(total*b.N)/time.Since(start).Seconds(), "entries/s")
}

// BenchmarkLogBatch is BenchmarkPostEntries's load in-process: the
// baseline of the ingest target (>= 50%).
func BenchmarkLogBatch(b *testing.B) {
	l, _ := benchServer(b, filestore.Always)
	ins := make([]comply.Interaction, 100)
	for i := range ins {
		ins[i] = comply.Interaction{Input: benchInput, Output: benchOutput, Provider: "openai", Model: "gpt-4.1",
			Latency: 812 * time.Millisecond, InputTokens: comply.Tokens(120), OutputTokens: comply.Tokens(380),
			Metadata: map[string]any{"user_id": fmt.Sprint("u", i)}}
	}
	b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0)))
	start := time.Now()
	var mu sync.Mutex
	n := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.LogBatch(b.Context(), ins...); err != nil {
				b.Error(err)
				return
			}
			mu.Lock()
			n += len(ins)
			mu.Unlock()
		}
	})
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "entries/s")
}
