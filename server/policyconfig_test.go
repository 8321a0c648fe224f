package server_test

import (
	"strings"
	"testing"

	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/server"
)

func TestConfigPolicySection(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string
		level   policy.Level // of the first rule, when no error
	}{
		{"section", "listen: 127.0.0.1:9\npolicy:\n  default: {level: hash}\n  rules:\n    - {name: support, match: {metadata: {team: support}}, level: metadata}\n", "", policy.Metadata},
		{"empty require stays empty", "policy:\n  default: {require: [user_id]}\n  rules:\n    - {name: open, require: [], level: none}\n", "", policy.None},
		{"unknown key", "policy:\n  default: {level: hash}\n  rules:\n    - name: a\n      levle: none\n", "line 5: unknown key levle", ""},
		{"unknown match key", "policy:\n  rules:\n    - name: a\n      match: {team: x}\n", "line 4: unknown key team", ""},
		{"bad level", "policy:\n  default: {level: full}\n", `line 2: policy: default: level "full"`, ""},
		{"wrong type", "policy: [1]\n", "cannot unmarshal", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := server.DefaultConfig()
			err := server.DecodeConfig("serve.yaml", []byte(tt.yaml), &cfg)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("DecodeConfig = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Policy == nil || len(cfg.Policy.Rules) != 1 || cfg.Policy.Rules[0].Level != tt.level {
				t.Fatalf("policy %+v", cfg.Policy)
			}
			out, err := cfg.YAML()
			if err != nil {
				t.Fatal(err)
			}
			back := server.DefaultConfig()
			if err := server.DecodeConfig("printed", out, &back); err != nil || back.Policy.Text() != cfg.Policy.Text() {
				t.Fatalf("printed configuration does not read back the same policy: %v\n%s", err, out)
			}
		})
	}
}
