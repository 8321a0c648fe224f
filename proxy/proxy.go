// Package proxy is an auditing reverse proxy for the OpenAI and Anthropic
// APIs: any application, in any language, audits its LLM calls by pointing
// its client's base URL at the proxy.
//
//	t := &llm.Transport{Logger: logger, Base: proxy.UpstreamTransport()}
//	http.ListenAndServe("127.0.0.1:8787", proxy.New(upstream, t))
//
// The proxy forwards every request to the upstream unchanged, with the
// client's API key, through an llm.Transport, which logs the calls to the
// Chat Completions, Responses and Messages APIs (see package llm). Headers
// are never logged. Responses stream back as they arrive (an
// httputil.ReverseProxy with FlushInterval -1), byte for byte.
//
// An upstream that cannot be reached gives a 502 whose JSON body both SDKs
// understand, and an entry that says why. The Transport's write mode
// applies: fail-closed (its default) aborts a response whose entry could not
// be written before the client has seen all of it, so the client reports an
// error; see package llm for the details.
//
// GET /healthz answers 200 with the Transport's counters as JSON.
package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// New returns a handler that forwards requests to upstream (a scheme, host
// and optional base path, such as https://api.openai.com) through t, and
// serves HealthPath itself.
func New(upstream *url.URL, t *llm.Transport) http.Handler {
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
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{
			"status": "ok", "audited": st.Audited, "passthrough": st.Passthrough, "logged": st.Logged,
			"write_failed": st.WriteFailed, "failed_open": st.FailedOpen, "fail_open": t.FailOpen,
		})
	})
	mux.Handle("/", rp)
	return mux
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
	msg := "comply proxy: the upstream could not be reached: " + err.Error()
	if errors.Is(err, llm.ErrNotLogged) {
		msg += "; and the audit entry could not be written"
	}
	b, _ := json.Marshal(map[string]any{
		"type":  "error",
		"error": map[string]any{"type": "api_error", "code": "upstream_unavailable", "message": msg},
	})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(http.StatusBadGateway)
	w.Write(b)
}

// bufferPool recycles the proxy's copy buffers.
type bufferPool struct{}

var buffers = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (bufferPool) Get() []byte  { return *buffers.Get().(*[]byte) }
func (bufferPool) Put(b []byte) { buffers.Put(&b) }
