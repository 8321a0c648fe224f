package main

import (
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/proxy"
)

// proxyLimits are the proxy's memory and timeout flags.
type proxyLimits struct {
	maxBufferedMiB int64
	headerTimeout  time.Duration
	idleTimeout    time.Duration
	bodyTimeout    time.Duration
	clientHeader   time.Duration
}

// proxyLimitFlags defines the proxy's memory and timeout flags on fs.
func proxyLimitFlags(fs *flag.FlagSet) *proxyLimits {
	p := &proxyLimits{}
	fs.Int64Var(&p.maxBufferedMiB, "max-buffered", llm.DefaultMaxBuffered>>20,
		"hold at most `MIB` MiB of request bodies in memory across all calls; a body past it (or over 64 MiB) is streamed upstream and hashed as it goes, unparsed")
	fs.DurationVar(&p.headerTimeout, "upstream-header-timeout", proxy.DefaultHeaderTimeout,
		"fail a call whose upstream sends no response headers within `DURATION` (0: no limit)")
	fs.DurationVar(&p.idleTimeout, "upstream-idle-timeout", proxy.DefaultIdleTimeout,
		"fail a call whose upstream sends nothing for `DURATION` mid-response (0: no limit)")
	fs.DurationVar(&p.bodyTimeout, "client-body-timeout", proxy.DefaultBodyReadTimeout,
		"drop a client that takes longer than `DURATION` to send its request body (0: no limit)")
	fs.DurationVar(&p.clientHeader, "client-header-timeout", 30*time.Second,
		"drop a client that takes longer than `DURATION` to send its request headers")
	return p
}

// check validates the flags.
func (p *proxyLimits) check() error {
	switch {
	case p.maxBufferedMiB < 1:
		return &usageError{msg: fmt.Sprintf("--max-buffered %d: want at least 1 (MiB)", p.maxBufferedMiB)}
	case p.maxBufferedMiB > 1<<20:
		return &usageError{msg: fmt.Sprintf("--max-buffered %d: want at most 1048576 (MiB)", p.maxBufferedMiB)}
	case p.headerTimeout < 0, p.idleTimeout < 0, p.bodyTimeout < 0, p.clientHeader <= 0:
		return &usageError{msg: "timeouts must not be negative (and --client-header-timeout not 0)"}
	}
	return nil
}

// apply sets the limits on the proxy's transport, whose Base it wraps.
func (p *proxyLimits) apply(t *llm.Transport) {
	t.MaxBuffered = p.maxBufferedMiB << 20
	t.Base = proxy.WithTimeouts(t.Base, p.headerTimeout, p.idleTimeout)
}

// handler returns the proxy handler with the client limits.
func (p *proxyLimits) handler(up *url.URL, t *llm.Transport) http.Handler {
	bt := p.bodyTimeout
	if bt == 0 {
		bt = -1 // no limit
	}
	return proxy.NewWithOptions(up, t, proxy.Options{BodyReadTimeout: bt})
}
