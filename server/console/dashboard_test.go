package console_test

import (
	"encoding/json"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/server/console/consoletest"
)

// TestDashboardFigures: the dashboard's failures by detector and by block
// reason (GET /v1/stats) equal comply stats' (Logger.Stats), and its
// busiest users (GET /v1/breakdown?by=user) equal a count of the range.
func TestDashboardFigures(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Hour).Add(30 * time.Minute)
	env := consoletest.Start(t, consoletest.Options{Entries: 300, Now: now})
	b := newBrowser(t, env)
	if st := b.signIn(consoletest.ReadSecret); st != 303 {
		t.Fatalf("sign in: %d", st)
	}
	for _, tc := range []struct {
		name  string
		start time.Time
	}{
		{"all", now.Add(-400 * time.Hour)},
		{"3 days", now.Add(-72 * time.Hour)},
		{"mid-hour", now.Add(-30*time.Hour - 10*time.Minute)},
		{"empty", now.Add(time.Hour)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			since := tc.start.Format(time.RFC3339Nano)
			want, err := env.Logger.Stats(t.Context(), tc.start)
			if err != nil {
				t.Fatal(err)
			}
			resp, body := b.do("GET", "/v1/stats?"+url.Values{"since": {since}}.Encode(), nil)
			if resp.StatusCode != 200 {
				t.Fatalf("stats: %d %s", resp.StatusCode, body)
			}
			var got comply.Stats
			if err := json.Unmarshal([]byte(body), &got); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.ByBlockReason, want.ByBlockReason) || !slices.Equal(got.ByDetector, want.ByDetector) {
				t.Errorf("by block reason %v, by detector %v; comply stats %v, %v", got.ByBlockReason, got.ByDetector, want.ByBlockReason, want.ByDetector)
			}
			if tc.name != "empty" && (len(got.ByBlockReason) != 2 || len(got.ByDetector) != 2) {
				t.Errorf("by block reason %v, by detector %v: want two of each", got.ByBlockReason, got.ByDetector)
			}
			var sum int64
			for _, r := range got.ByBlockReason {
				sum += r.Entries
			}
			if sum != got.SafetyFailures {
				t.Errorf("block reasons sum to %d, safety failures %d", sum, got.SafetyFailures)
			}

			// The busiest users: a count of the range.
			users := map[string]int64{}
			for e, err := range env.Logger.Query(t.Context(), comply.Query{Start: tc.start}) {
				if err != nil {
					t.Fatal(err)
				}
				var m struct {
					UserID string `json:"user_id"`
				}
				json.Unmarshal(e.Metadata, &m)
				users[m.UserID]++
			}
			resp, body = b.do("GET", "/v1/breakdown?"+url.Values{"by": {"user"}, "start": {since}, "limit": {"3"}}.Encode(), nil)
			if resp.StatusCode != 200 {
				t.Fatalf("breakdown: %d %s", resp.StatusCode, body)
			}
			var bd struct {
				Entries, Without int64
				Distinct         int
				Top              []comply.NameCount
			}
			if err := json.Unmarshal([]byte(body), &bd); err != nil {
				t.Fatal(err)
			}
			if bd.Entries != got.WindowEntries || bd.Without != 0 || bd.Distinct != len(users) || len(bd.Top) != min(3, len(users)) {
				t.Fatalf("breakdown %s: want %d entries, %d users", body, got.WindowEntries, len(users))
			}
			for i, r := range bd.Top {
				if users[r.Name] != r.Entries || i > 0 && bd.Top[i-1].Entries < r.Entries {
					t.Errorf("user %s: %d entries, counted %d (top %v)", r.Name, r.Entries, users[r.Name], bd.Top)
				}
			}
		})
	}
	for _, q := range []string{"by=model", "", "by=user&limit=0", "by=user&limit=101", "by=user&nope=1"} {
		if resp, body := b.do("GET", "/v1/breakdown?"+q, nil); resp.StatusCode != 400 {
			t.Errorf("breakdown?%s: %d %s, want 400", q, resp.StatusCode, body)
		}
	}
}
