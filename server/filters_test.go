package server_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// TestListSafetyAndDetector: GET /v1/entries?safety=passed|failed and
// ?detector=D, alone and with the other filters; bad values are 400.
func TestListSafetyAndDetector(t *testing.T) {
	e := newEnv(t, envOpts{})
	ids := e.post(
		`{"input": "a", "provider": "p", "model": "m"}`,
		`{"input": "b", "provider": "p", "model": "m", "safety_passed": false, "detectors_triggered": ["pii"], "block_reason": "personal data"}`,
		`{"input": "c", "provider": "p", "model": "n", "safety_passed": false, "detectors_triggered": ["toxicity", "pii"]}`,
		`{"input": "d", "provider": "p", "model": "m", "safety_passed": false, "detectors_triggered": ["toxicity"]}`,
	)
	tests := []struct {
		name    string
		query   url.Values
		status  int
		wantIDs []string // newest first
	}{
		{"passed", url.Values{"safety": {"passed"}}, 200, ids[:1]},
		{"failed", url.Values{"safety": {"failed"}}, 200, []string{ids[3], ids[2], ids[1]}},
		{"safety_failed still works", url.Values{"safety_failed": {"true"}}, 200, []string{ids[3], ids[2], ids[1]}},
		{"detector", url.Values{"detector": {"pii"}}, 200, []string{ids[2], ids[1]}},
		{"detector and model", url.Values{"detector": {"toxicity"}, "model": {"m"}}, 200, ids[3:4]},
		{"detector and passed", url.Values{"detector": {"pii"}, "safety": {"passed"}}, 200, nil},
		{"unknown detector", url.Values{"detector": {"jailbreak"}}, 200, nil},
		{"bad safety", url.Values{"safety": {"maybe"}}, 400, nil},
		{"passed and failed", url.Values{"safety": {"passed"}, "safety_failed": {"true"}}, 400, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b, _ := e.do("GET", "/v1/entries?"+tt.query.Encode(), "read-secret", "")
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, b)
			}
			if status != 200 {
				return
			}
			var got struct{ Entries []struct{ ID string } }
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatal(err)
			}
			var gotIDs []string
			for _, x := range got.Entries {
				gotIDs = append(gotIDs, x.ID)
			}
			if strings.Join(gotIDs, ",") != strings.Join(tt.wantIDs, ",") {
				t.Errorf("ids %v, want %v", gotIDs, tt.wantIDs)
			}
		})
	}
	// The access records keep the filters as asked.
	found := false
	for _, r := range e.access.all() {
		if r.Filters["detector"] == "pii" && r.Filters["safety"] == "passed" {
			found = true
		}
	}
	if !found {
		t.Error("no access record with detector=pii and safety=passed")
	}
}
