// Package proxy is an auditing reverse proxy for the OpenAI, Anthropic and
// Gemini APIs: any application, in any language, audits its LLM calls by pointing
// its client's base URL at the proxy.
//
//	t := &llm.Transport{Logger: logger, Base: proxy.UpstreamTransport()}
//	http.ListenAndServe("127.0.0.1:8787", proxy.New(upstream, t))
//
// The proxy forwards every request to the upstream unchanged, with the
// client's API key, through an llm.Transport, which logs the calls to the
// Chat Completions, Responses, Messages, Gemini and embeddings APIs (see
// package llm). Headers
// are never logged. Responses stream back as they arrive (an
// httputil.ReverseProxy with FlushInterval -1), byte for byte.
//
// An upstream that cannot be reached gives a 502 (a 504 for an upstream
// timeout) whose JSON body both SDKs understand, and an entry that says
// why. The Transport's write mode
// applies: fail-closed (its default) aborts a response whose entry could not
// be written before the client has seen all of it, so the client reports an
// error; see package llm for the details.
//
// GET /healthz answers 200 with the Transport's counters as JSON, or 503
// with "status": "degraded" and a "reason" while audit entries cannot be
// written: from a write failure until the next entry written.
//
// # Limits
//
// Memory: the Transport's MaxBuffered bounds the request bodies held at
// once; a body past it is streamed upstream and hashed on the way (see
// package llm). Upstream: wrap the base transport in WithTimeouts, which
// fails a call whose upstream sends no headers within a header timeout or
// goes silent mid-response for longer than an idle timeout. Clients: serve
// the handler from an http.Server with a ReadHeaderTimeout; Options.
// BodyReadTimeout bounds the time a client takes to send its request body
// (a per-request read deadline, lifted once the body has arrived, so a long
// streamed response is not cut). No write timeout is set: a streamed
// answer may rightly last minutes.
package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/complyhq/comply/llm"
)

// HealthPath is the proxy's own health endpoint; every other path is
// forwarded.
const HealthPath = "/healthz"

// DefaultBodyReadTimeout bounds the time a client takes to send its
// request body: long enough for a 64 MiB body at 1 Mbit/s.
const DefaultBodyReadTimeout = 10 * time.Minute

// Options tune a proxy handler. The zero value means the defaults.
type Options struct {
	// BodyReadTimeout bounds the time from the start of a request to the
	// end of its body; zero means DefaultBodyReadTimeout, negative none.
	BodyReadTimeout time.Duration
}

// New returns a handler that forwards requests to upstream (a scheme, host
// and optional base path, such as https://api.openai.com) through t, and
// serves HealthPath itself, with the default Options.
func New(upstream *url.URL, t *llm.Transport) http.Handler {
	return NewWithOptions(upstream, t, Options{})
}

// NewWithOptions is New with options.
func NewWithOptions(upstream *url.URL, t *llm.Transport, o Options) http.Handler {
	bodyTimeout := o.BodyReadTimeout
	if bodyTimeout == 0 {
		bodyTimeout = DefaultBodyReadTimeout
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
		},
		Transport:     t,
		FlushInterval: -1,
		ErrorHandler:  errorHandler,
		BufferPool:    bufferPool{},
		ErrorLog:      slog.NewLogLogger(slog.Default().Handler(), slog.LevelWarn),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+HealthPath, func(w http.ResponseWriter, r *http.Request) {
		st := t.Stats()
		h := map[string]any{
			"status": "ok", "audited": st.Audited, "passthrough": st.Passthrough, "logged": st.Logged,
			"write_failed": st.WriteFailed, "failed_open": st.FailedOpen, "fail_open": t.FailOpen,
			"streamed": st.Streamed, "buffered_bytes": st.Buffered,
		}
		status := http.StatusOK
		if st.FailedInARow > 0 {
			status = http.StatusServiceUnavailable
			h["status"] = "degraded"
			h["reason"] = fmt.Sprintf("the last %d audit entries could not be written (last failure %s); ok again after the next entry written",
				st.FailedInARow, st.LastFailure.UTC().Format(time.RFC3339))
			h["failed_in_a_row"] = st.FailedInARow
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(h)
	})
	mux.Handle("/", rp)
	if bodyTimeout < 0 {
		return mux
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limitBodyRead(w, r, bodyTimeout)
		mux.ServeHTTP(w, r)
	})
}

// limitBodyRead sets a read deadline for the request's body, lifted once
// the body has been read to its end. (A deadline left in place would cut
// a long response: the server's background read would hit it.)
func limitBodyRead(w http.ResponseWriter, r *http.Request, d time.Duration) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(d)) != nil {
		return // not supported by this ResponseWriter
	}
	r.Body = &deadlineBody{ReadCloser: r.Body, lift: func() { rc.SetReadDeadline(time.Time{}) }}
}

// deadlineBody lifts the read deadline at the end of the body.
type deadlineBody struct {
	io.ReadCloser
	lift   func()
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		b.lift()
	}
	return n, err
}

// UpstreamTransport returns a base transport suited to a proxy: many idle
// connections per host, and no compression of its own, so that the
// upstream sees the client's Accept-Encoding and the client gets the
// upstream's bytes.
func UpstreamTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 256
	t.IdleConnTimeout = 90 * time.Second
	t.DisableCompression = true
	return t
}

// errorHandler answers a request that got no response from the upstream:
// a 502 in a JSON shape that both providers' SDKs parse.
func errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		return // the client went away: nobody to answer
	}
	status, code := http.StatusBadGateway, "upstream_unavailable"
	msg := "comply proxy: the upstream could not be reached: " + err.Error()
	if errors.Is(err, ErrUpstreamTimeout) {
		status, code = http.StatusGatewayTimeout, "upstream_timeout"
		msg = "comply proxy: " + err.Error()
	}
	if errors.Is(err, llm.ErrNotLogged) {
		msg += "; and the audit entry could not be written"
	}
	b, _ := json.Marshal(map[string]any{
		"type":  "error",
		"error": map[string]any{"type": "api_error", "code": code, "message": msg},
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// bufferPool recycles the proxy's copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
