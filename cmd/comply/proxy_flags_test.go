package main

import (
	"flag"
	"io"
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
