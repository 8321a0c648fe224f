package server_test

import (
	"encoding/json"
	"testing"

	"github.com/complyhq/comply"
)

func TestTimeseries(t *testing.T) {
	e := newEnv(t, envOpts{})
	e.post(item)
	e.post(`{"input": "a", "output": "b", "provider": "anthropic", "model": "claude", "latency_ms": 10}`)
	tests := []struct {
		path   string
		status int
		groups map[string]int64 // group -> entries; nil for an error
	}{
		{"/v1/timeseries", 200, map[string]int64{"": 2}},
		{"/v1/timeseries?since=2h&step=1d&group_by=model", 200, map[string]int64{"gpt-4": 1, "claude": 1}},
		{"/v1/timeseries?group_by=provider", 200, map[string]int64{"openai": 1, "anthropic": 1}},
		{"/v1/timeseries?group_by=detector", 200, map[string]int64{}},
		{"/v1/timeseries?step=5m", 400, nil},
		{"/v1/timeseries?group_by=colour", 400, nil},
		{"/v1/timeseries?start=soon", 400, nil},
		{"/v1/timeseries?limit=3", 400, nil},
	}
	for _, tt := range tests {
		status, b, _ := e.do("GET", tt.path, "read-secret", "")
		if status != tt.status {
			t.Errorf("GET %s: %d %s, want %d", tt.path, status, b, tt.status)
			continue
		}
		if tt.groups == nil {
			continue
		}
		var got struct {
			Buckets []comply.Bucket `json:"buckets"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("GET %s: %v", tt.path, err)
		}
		groups := map[string]int64{}
		for _, bk := range got.Buckets {
			groups[bk.Group] += bk.Entries
		}
		if len(groups) != len(tt.groups) {
			t.Errorf("GET %s: groups %v, want %v", tt.path, groups, tt.groups)
		}
		for g, n := range tt.groups {
			if groups[g] != n {
				t.Errorf("GET %s: group %q has %d entries, want %d", tt.path, g, groups[g], n)
			}
		}
	}
	if status, _, _ := e.do("GET", "/v1/timeseries", "ingest-secret", ""); status != 403 {
		t.Errorf("GET /v1/timeseries as ingest: %d, want 403", status)
	}
}
