package main

import (
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/complyhq/comply/llm"
)

func TestProxyLimitFlags(t *testing.T) {
	tests := []struct {
		args    []string
		wantErr bool
		check   func(*proxyLimits) bool
	}{
		{nil, false, func(p *proxyLimits) bool {
			return p.maxBufferedMiB == 256 && p.headerTimeout == 60*time.Second && p.idleTimeout == 90*time.Second && p.bodyTimeout == 10*time.Minute
		}},
		{[]string{"--max-buffered", "16", "--upstream-header-timeout", "5s", "--upstream-idle-timeout", "0"}, false, func(p *proxyLimits) bool {
			return p.maxBufferedMiB == 16 && p.headerTimeout == 5*time.Second && p.idleTimeout == 0
		}},
		{[]string{"--max-buffered", "0"}, true, nil},
		{[]string{"--upstream-idle-timeout", "-1s"}, true, nil},
		{[]string{"--client-header-timeout", "0"}, true, nil},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		p := proxyLimitFlags(fs)
		if err := fs.Parse(tt.args); err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		err := p.check()
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: check = %v", tt.args, err)
			continue
		}
		if tt.check != nil && !tt.check(p) {
			t.Errorf("%q: limits %+v", tt.args, *p)
		}
		if err == nil {
			tr := &llm.Transport{}
			p.apply(tr)
			if tr.MaxBuffered != p.maxBufferedMiB<<20 || tr.Base == nil {
				t.Errorf("%q: apply gave MaxBuffered %d", tt.args, tr.MaxBuffered)
			}
		}
	}
}

// TestProxyPricesFlag: --prices loads a price table into the config; a
// bad or missing file is an error with a hint, before the store opens.
func TestProxyPricesFlag(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "prices.json")
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(good, []byte(`{"models":{"gpt-4.1":{"input_per_mtok":2,"output_per_mtok":8}}}`), 0o600)
	os.WriteFile(bad, []byte(`{"models":{"gpt-4.1":{"input":2}}}`), 0o600)
	tests := []struct {
		prices  string
		want    llm.Prices
		wantErr bool
	}{
		{"", nil, false},
		{good, llm.Prices{"gpt-4.1": {Input: 2, Output: 8}}, false},
		{bad, nil, true},
		{filepath.Join(dir, "missing.json"), nil, true},
	}
	for _, tt := range tests {
		c := &cli{stdout: io.Discard, stderr: io.Discard}
		args := []string{"--upstream", "https://api.openai.com"}
		if tt.prices != "" {
			args = append(args, "--prices", tt.prices)
		}
		f, err := c.parseProxyFlags(args)
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		cfg, err := f.check()
		if (err != nil) != tt.wantErr {
			t.Errorf("%q: check = %v", args, err)
			continue
		}
		var he *hintError
		if err != nil && !errors.As(err, &he) {
			t.Errorf("%q: %v has no hint", args, err)
		}
		if err == nil && !maps.Equal(cfg.prices, tt.want) {
			t.Errorf("%q: prices %v, want %v", args, cfg.prices, tt.want)
		}
	}
}
