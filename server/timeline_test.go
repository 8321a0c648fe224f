package server_test

import (
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/server"
	"github.com/complyhq/comply/store/memstore"
)

// TestIntegrityTimeline: GET /v1/integrity's timeline merges the
// checkpoint history of the range into spans of traffic, idle heartbeats
// and downtime (a silence longer than one and a half heartbeats).
func TestIntegrityTimeline(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	at := t0
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	set := func(d time.Duration) { mu.Lock(); at = t0.Add(d); mu.Unlock() }
	skey, _, err := ledger.GenerateKey("timeline")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := comply.NewWithIntegrity(t.Context(), memstore.New(0), &comply.Options{Now: clock},
		&comply.IntegrityOptions{Signer: signer, Now: clock, Heartbeat: time.Minute, CheckpointInterval: time.Hour, CheckpointEvery: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	checkpoint := func(d time.Duration) {
		set(d)
		if _, err := l.Ledger().Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	checkpoint(time.Minute) // idle since the open at t0
	set(90 * time.Second)
	if _, err := l.LogBatch(t.Context(), comply.Interaction{Input: "a"}, comply.Interaction{Input: "b"}); err != nil {
		t.Fatal(err)
	}
	checkpoint(2 * time.Minute)  // traffic
	checkpoint(3 * time.Minute)  // idle
	checkpoint(30 * time.Minute) // down: 27 minutes without a checkpoint
	checkpoint(31 * time.Minute) // idle
	set(31*time.Minute + 30*time.Second)

	srv, err := server.New(server.Options{Logger: l, Auth: testTokens, Access: &recorder{}, Now: clock,
		Verifiers: []note.Verifier{signer.Verifier()}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, ts: ts}

	type span struct {
		From, To time.Time
		State    string
		Clean    bool
		Entries  uint64
	}
	mins := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name   string
		query  url.Values
		status int
		want   []span
	}{
		{"24 hours", nil, 200, []span{{mins(0), mins(1), "idle", false, 0}, {mins(1), mins(2), "traffic", false, 2},
			{mins(2), mins(3), "idle", false, 0}, {mins(3), mins(30), "down", false, 0}, {mins(30), mins(31), "idle", false, 0}}},
		{"from 2:30", url.Values{"start": {t0.Add(150 * time.Second).Format(time.RFC3339)}}, 200,
			[]span{{mins(3), mins(30), "down", false, 0}, {mins(30), mins(31), "idle", false, 0}}},
		{"to 2:30", url.Values{"start": {t0.Format(time.RFC3339)}, "end": {t0.Add(150 * time.Second).Format(time.RFC3339)}}, 200,
			[]span{{mins(0), mins(1), "idle", false, 0}, {mins(1), mins(2), "traffic", false, 2}}},
		{"the last 10 minutes", url.Values{"since": {"10m"}}, 200, []span{{mins(30), mins(31), "idle", false, 0}}},
		{"too long", url.Values{"since": {"40d"}}, 400, nil},
		{"unknown", url.Values{"step": {"1h"}}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b, _ := e.do("GET", "/v1/integrity?"+tt.query.Encode(), "read-secret", "")
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, b)
			}
			if status != 200 {
				return
			}
			var got struct {
				Timeline struct {
					Checkpoints int
					Spans       []span
				}
			}
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			if len(got.Timeline.Spans) != len(tt.want) {
				t.Fatalf("spans %+v, want %+v", got.Timeline.Spans, tt.want)
			}
			for i, w := range tt.want {
				g := got.Timeline.Spans[i]
				if !g.From.Equal(w.From) || !g.To.Equal(w.To) || g.State != w.State || g.Clean != w.Clean || g.Entries != w.Entries {
					t.Errorf("span %d: %+v, want %+v", i, g, w)
				}
			}
		})
	}

	// Stopped for good: the silence after the last checkpoint is down.
	set(2 * time.Hour)
	status, b, _ := e.do("GET", "/v1/integrity?since=3h", "read-secret", "")
	var got struct{ Timeline struct{ Spans []span } }
	if err := json.Unmarshal(b, &got); status != 200 || err != nil {
		t.Fatalf("%d %s", status, b)
	}
	if n := len(got.Timeline.Spans); n == 0 || got.Timeline.Spans[n-1].State != "down" || !got.Timeline.Spans[n-1].To.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("after the writer stopped: %+v", got.Timeline.Spans)
	}
}
