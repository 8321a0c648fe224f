package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/server"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/server/console"
	"github.com/complyhq/comply/server/console/consoletest"
	"github.com/complyhq/comply/store/filestore"
)

// discard is an access log that keeps nothing: the benchmarks time the
// reads, not the access log's fsyncs.
type discard struct{}

func (discard) Record(context.Context, accesslog.Record) error { return nil }

var (
	benchOnce    sync.Once
	benchHandler http.Handler
	benchErr     error
)

// benchEntries is the size of the benchmarks' file store: 1M, or
// COMPLY_CONSOLE_BENCH_ENTRIES.
func benchEntries() int {
	if n, err := strconv.Atoi(os.Getenv("COMPLY_CONSOLE_BENCH_ENTRIES")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// benchServer returns the handler of a server over a file store of
// benchEntries entries spread over 30 days, built once per run.
func benchServer(b *testing.B) http.Handler {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "comply-console-bench-")
		if err != nil {
			benchErr = err
			return
		}
		ctx := context.Background()
		st, err := filestore.Open(ctx, dir, &filestore.Options{Durability: filestore.None})
		if err != nil {
			benchErr = err
			return
		}
		n := benchEntries()
		end := time.Now().UTC()
		span := 30 * 24 * time.Hour
		var at time.Time
		l, err := comply.New(st, &comply.Options{Now: func() time.Time { return at }})
		if err != nil {
			benchErr = err
			return
		}
		const batch = 1000
		ins := make([]comply.Interaction, batch)
		for i := 0; i < n; i += batch {
			at = end.Add(-span + time.Duration(float64(span)*float64(i)/float64(n)))
			for j := range ins {
				k := i + j
				md, _ := json.Marshal(map[string]string{"user_id": fmt.Sprint("user-", k%500)})
				ins[j] = comply.Interaction{Input: fmt.Sprint("prompt ", k), Output: "answer", Provider: consoletest.Providers[k%4], Model: consoletest.Models[k%4],
					ConversationID: fmt.Sprint("conv-", k/10), SafetyFailed: k%50 == 0, Latency: time.Duration(100+k%900) * time.Millisecond,
					InputTokens: comply.Tokens(10 + k%90), OutputTokens: comply.Tokens(20 + k%200), Metadata: json.RawMessage(md)}
			}
			if _, err := l.LogBatch(ctx, ins...); err != nil {
				benchErr = err
				return
			}
		}
		at = time.Time{}
		l.Close()
		st, err = filestore.Open(ctx, dir, &filestore.Options{Durability: filestore.None})
		if err != nil {
			benchErr = err
			return
		}
		if l, err = comply.New(st, nil); err != nil {
			benchErr = err
			return
		}
		con, err := console.New(console.Options{InsecureNoAuth: true})
		if err != nil {
			benchErr = err
			return
		}
		srv, err := server.New(server.Options{Logger: l, InsecureNoAuth: true, Access: discard{}, Sessions: con, Console: con, Log: slog.New(slog.DiscardHandler)})
		if err != nil {
			benchErr = err
			return
		}
		benchHandler = srv.Handler()
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchHandler
}

// BenchmarkConsole times, in the server, the API reads each console page
// makes, on a file store of 1M entries over 30 days: targets 100 ms for
// the first 100 entries, 300 ms filtered or for the 30-day dashboard
// (its rollups; the busiest users, a scan, are timed apart).
func BenchmarkConsole(b *testing.B) {
	h := benchServer(b)
	for _, bc := range []struct {
		name  string
		paths []string
	}{
		{"entries_first_100", []string{"/v1/entries?limit=100"}},
		{"entries_model", []string{"/v1/entries?limit=100&model=gpt-4o-mini"}},
		{"entries_conversation", []string{"/v1/entries?limit=100&conversation_id=conv-99990"}},
		{"dashboard_30d", []string{"/v1/stats?since=30d", "/v1/timeseries?since=30d&step=1d", "/v1/timeseries?since=30d&step=1d&group_by=model"}},
		// The busiest users: a scan of the range (the rollups keep no users).
		{"dashboard_users_30d", []string{"/v1/breakdown?by=user&since=30d&limit=10"}},
		{"dashboard_users_24h", []string{"/v1/breakdown?by=user&since=24h&limit=10"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				for _, p := range bc.paths {
					w := httptest.NewRecorder()
					h.ServeHTTP(w, httptest.NewRequestWithContext(b.Context(), "GET", p, nil))
					if w.Code != 200 {
						b.Fatalf("GET %s: %d %s", p, w.Code, w.Body)
					}
				}
			}
		})
	}
}
