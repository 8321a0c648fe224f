package server_test

import (
	"errors"
	"flag"
	"os"
	"strings"
	"testing"

	"github.com/complyhq/comply/server"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestConfigGolden(t *testing.T) {
	cfg := server.DefaultConfig()
	if err := server.LoadConfig("testdata/comply.yaml", &cfg); err != nil {
		t.Fatal(err)
	}
	got, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		os.WriteFile("testdata/print-config.golden", got, 0o644)
	}
	want, err := os.ReadFile("testdata/print-config.golden")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("YAML:\n%s\nwant testdata/print-config.golden:\n%s", got, want)
	}
	// The printed form reads back to the same configuration.
	again := server.DefaultConfig()
	if err := server.DecodeConfig("printed", got, &again); err != nil {
		t.Fatal(err)
	}
	if b, _ := again.YAML(); string(b) != string(got) {
		t.Errorf("round trip:\n%s", b)
	}
}

func TestConfigStrict(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"unknown key", "listen: x\ncolour: red\n", "line 2: unknown key colour"},
		{"unknown nested key", "upstreams:\n  - name: a\n    url: http://x\n    model: y\n", "line 4: unknown key model"},
		{"wrong type", "max_body: lots\n", "line 1"},
		{"bad duration", "timeouts:\n  idle: forever\n", "line 2"},
		{"bad durability", "durability: sometimes\n", "durability"},
		{"tls half", "tls_cert: a\n", "tls_cert and tls_key"},
		{"two documents", "listen: a\n---\nlisten: b\n", "more than one"},
		{"bad upstream name", "upstreams:\n  - name: a/b\n    url: http://x\n", "name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := server.DefaultConfig()
			err := server.DecodeConfig("comply.yaml", []byte(tt.yaml), &cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			var ce *server.ConfigError
			if !strings.Contains(tt.want, "durability") && !strings.Contains(tt.want, "tls") && tt.name != "bad upstream name" && !errors.As(err, &ce) {
				t.Errorf("error %T, want a *ConfigError", err)
			}
		})
	}
}

func TestConfigHidesKeys(t *testing.T) {
	cfg := server.DefaultConfig()
	cfg.SigningKey = "PRIVATE+KEY+test+12345678+AAAA"
	cfg.Store = "s3://user:pass@bucket/prefix"
	b, err := cfg.YAML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "PRIVATE") || strings.Contains(string(b), "pass") {
		t.Errorf("secrets printed:\n%s", b)
	}
}
