package proxy

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"
)

// Default upstream timeouts of WithTimeouts.
const (
	// DefaultHeaderTimeout bounds the wait for the upstream's response
	// headers. Models that think before answering take a while to send
	// them on non-streamed calls; raise it for long reasoning calls.
	DefaultHeaderTimeout = 60 * time.Second
	// DefaultIdleTimeout bounds the wait for each next piece of the
	// upstream's response body.
	DefaultIdleTimeout = 90 * time.Second
)

// ErrUpstreamTimeout is wrapped by the errors of a call whose upstream sent
// no response headers, or no body bytes, within its timeout. Its Timeout
// method reports true, as a net.Error's does, so that the call's entry
// records a timeout (error type "timeout").
var ErrUpstreamTimeout error = upstreamTimeout{}

type upstreamTimeout struct{}

func (upstreamTimeout) Error() string { return "upstream timeout" }
func (upstreamTimeout) Timeout() bool { return true }

// WithTimeouts returns a RoundTripper that sends requests through base and
// fails a call whose upstream sends no response headers within header, or
// then stays silent for longer than idle while the response body is being
// read (only the time spent waiting for the upstream counts, not the time
// a slow client takes to read). A zero duration disables that timeout. The
// errors wrap ErrUpstreamTimeout, and the call's entry says which timeout
// fired. A nil base means http.DefaultTransport.
func WithTimeouts(base http.RoundTripper, header, idle time.Duration) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &timeoutTransport{base: base, header: header, idle: idle}
}

type timeoutTransport struct {
	base         http.RoundTripper
	header, idle time.Duration
}

func (t *timeoutTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	var fired atomic.Bool
	var timer *time.Timer
	if t.header > 0 {
		timer = time.AfterFunc(t.header, func() { fired.Store(true); cancel() })
	}
	resp, err := t.base.RoundTrip(req.WithContext(ctx))
	if timer != nil {
		timer.Stop()
	}
	if err != nil {
		cancel()
		if fired.Load() {
			return nil, fmt.Errorf("%w: no response headers within %s", ErrUpstreamTimeout, t.header)
		}
		return nil, err
	}
	if fired.Load() {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("%w: no response headers within %s", ErrUpstreamTimeout, t.header)
	}
	resp.Body = &idleBody{rc: resp.Body, cancel: cancel, idle: t.idle}
	return resp, nil
}

// idleBody fails a read that waits for the upstream longer than idle.
type idleBody struct {
	rc     io.ReadCloser
	cancel context.CancelFunc
	idle   time.Duration
	timer  *time.Timer
	fired  atomic.Bool
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.idle > 0 {
		if b.timer == nil {
			b.timer = time.AfterFunc(b.idle, func() { b.fired.Store(true); b.cancel() })
		} else {
			b.timer.Reset(b.idle)
		}
	}
	n, err := b.rc.Read(p)
	if b.timer != nil {
		b.timer.Stop()
	}
	if err != nil && err != io.EOF && b.fired.Load() {
		err = fmt.Errorf("%w: the upstream sent nothing for %s", ErrUpstreamTimeout, b.idle)
	}
	return n, err
}

func (b *idleBody) Close() error {
	if b.timer != nil {
		b.timer.Stop()
	}
	err := b.rc.Close()
	b.cancel()
	return err
}
