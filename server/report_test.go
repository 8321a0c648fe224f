package server_test

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestReports: GET /v1/reports answers each format, refuses bad
// parameters and needs the read role.
func TestReports(t *testing.T) {
	e := newEnv(t, envOpts{})
	tests := []struct {
		name, query, token string
		status             int
		ctype, must        string
	}{
		{"json", "?period=2026-03&framework=soc2", "read-secret", 200, "application/json", `"version": 1`},
		{"markdown", "?period=2026-Q1&format=md", "read-secret", 200, "text/markdown", "| gdpr |"},
		{"html", "?start=2026-03-01T00:00:00Z&end=2026-03-02T00:00:00Z&format=html", "read-secret", 200, "text/html", "<style>"},
		{"no period", "?format=json", "read-secret", 400, "", ""},
		{"bad framework", "?period=2026-03&framework=pci", "read-secret", 400, "", ""},
		{"bad format", "?period=2026-03&format=pdf", "read-secret", 400, "", ""},
		{"no token", "?period=2026-03", "", 401, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, b, h := e.do("GET", "/v1/reports"+tt.query, tt.token, "")
			if status != tt.status {
				t.Fatalf("status %d, want %d: %s", status, tt.status, b)
			}
			if !strings.HasPrefix(h.Get("Content-Type"), tt.ctype) || !strings.Contains(string(b), tt.must) {
				t.Errorf("%s: %.300s", h.Get("Content-Type"), b)
			}
		})
	}
}

// TestReportsRetention: the report states the retention the server's
// Logger runs with, not the default.
func TestReportsRetention(t *testing.T) {
	tests := []struct {
		name      string
		retention int
		want      int
	}{
		{"default", 0, 365},
		{"30 days", 30, 30},
		{"forever", -1, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{retention: tt.retention})
			status, b, _ := e.do("GET", "/v1/reports?period=2026-03&framework=gdpr", "read-secret", "")
			if status != 200 {
				t.Fatalf("status %d: %s", status, b)
			}
			var r struct {
				Config struct {
					RetentionDays int `json:"retention_days"`
				}
				Retention struct {
					ConfiguredDays int `json:"configured_days"`
				}
			}
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if r.Config.RetentionDays != tt.want || r.Retention.ConfiguredDays != tt.want {
				t.Errorf("retention %d, %d days; want %d", r.Config.RetentionDays, r.Retention.ConfiguredDays, tt.want)
			}
		})
	}
}

// TestReportsConfig: the report states the hash key and content storage
// the server's Logger runs with.
func TestReportsConfig(t *testing.T) {
	tests := []struct {
		name             string
		eo               envOpts
		hashKey, content bool
	}{
		{"plain hashes", envOpts{}, false, false},
		{"keyed hashes", envOpts{hashKey: true}, true, false},
		{"content stored", envOpts{content: true}, false, true},
		{"both", envOpts{hashKey: true, content: true}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.eo)
			status, b, _ := e.do("GET", "/v1/reports?period=2026-03&framework=gdpr", "read-secret", "")
			if status != 200 {
				t.Fatalf("status %d: %s", status, b)
			}
			var r struct {
				Config struct {
					HashKey      bool `json:"hash_key"`
					StoreContent bool `json:"store_content"`
				}
			}
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatal(err)
			}
			if r.Config.HashKey != tt.hashKey || r.Config.StoreContent != tt.content {
				t.Errorf("config %+v, want hash_key %t, store_content %t", r.Config, tt.hashKey, tt.content)
			}
		})
	}
}
