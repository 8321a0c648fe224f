// Package otlptest serves the OTLP/HTTP traces endpoint of package otlp
// over a comply.Logger, for tests that export spans with a real
// OpenTelemetry SDK or instrumentation.
package otlptest

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/otlp"
)

// Server starts an otlp.Handler that logs into l, closed when the test
// ends. It returns the server (POST to its URL + "/v1/traces") and a
// function that returns the results of the exports received so far.
func Server(t testing.TB, l *comply.Logger) (*httptest.Server, func() []otlp.Result) {
	t.Helper()
	var mu sync.Mutex
	var results []otlp.Result
	srv := httptest.NewServer(&otlp.Handler{
		Log: func(ctx context.Context, ins []comply.Interaction) ([]string, error) {
			return l.LogBatch(ctx, ins...)
		},
		Options: otlp.Options{Hash: l.Hash},
		OnResult: func(r otlp.Result) {
			mu.Lock()
			defer mu.Unlock()
			results = append(results, r)
		},
	})
	t.Cleanup(srv.Close)
	return srv, func() []otlp.Result {
		mu.Lock()
		defer mu.Unlock()
		return append([]otlp.Result(nil), results...)
	}
}
