package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/server/auth"
	"github.com/complyhq/comply/store"
)

// Defaults of Options.
const (
	DefaultMaxBody         = 32 << 20
	DefaultMaxIngest       = 16
	DefaultIngestWait      = 5 * time.Second
	DefaultBodyReadTimeout = time.Minute
	DefaultWriteTimeout    = 30 * time.Second
	DefaultPageSize        = 100
	MaxPageSize            = 1000
)

// InsecureTokenName is the token name of every request to a server
// without tokens (Options.InsecureNoAuth), as the access log records it.
const InsecureTokenName = "insecure-no-auth"

// An Upstream is an LLM API that /proxy/{Name}/ forwards to, auditing
// every call (package llm): OpenAI, Anthropic, Gemini, or any
// OpenAI-compatible server (vLLM, Ollama, Azure OpenAI).
type Upstream struct {
	Name   string        // the path segment: letters, digits, '-', '_', '.'
	URL    *url.URL      // scheme, host and optional base path
	Input  llm.InputMode // what is recorded as the input
	Prices llm.Prices    // optional: each entry's cost
}

// Options configure a Server. Logger is required, and Auth unless
// InsecureNoAuth.
type Options struct {
	// Logger writes and reads the entries. The Server does not close it.
	Logger *comply.Logger

	// Auth tells who holds a token. Nil only with InsecureNoAuth, which
	// makes every request act as an admin named InsecureTokenName: for a
	// server on loopback only (the CLI enforces it).
	Auth           auth.Authenticator
	InsecureNoAuth bool

	// Access records every read of evidence. Nil makes the recorded
	// routes answer 503: evidence is never read unrecorded.
	Access accesslog.Recorder
	// AccessLog reads the access log for GET /v1/access; nil makes that
	// route 404.
	AccessLog func(ctx context.Context, q accesslog.Query) iter.Seq2[accesslog.Record, error]

	// Traces, if set, makes the handler of POST /v1/traces (OTLP/HTTP)
	// from the function that logs a batch of interactions through the
	// server, counted as source "otlp" in the metrics and readiness.
	Traces func(log func(context.Context, []comply.Interaction) ([]string, error)) http.Handler

	// Upstreams are the LLM APIs served under /proxy/{name}/.
	Upstreams []Upstream

	// IdempotencyStore keeps the Idempotency-Key records. Nil means the
	// Logger's store if it is a store.Appender; if neither, keys are kept
	// in memory only, and lost at restart.
	IdempotencyStore store.Appender

	// Verifiers check the ledger in POST /v1/verify: the writer's
	// verifier key, and older ones after a rotation.
	Verifiers []note.Verifier

	// MaxBody bounds a request body in bytes (413 beyond); zero means
	// DefaultMaxBody.
	MaxBody int64
	// MaxIngest bounds the ingest requests handled at once; others wait
	// at most IngestWait, then get 503 with Retry-After. Zero means the
	// defaults.
	MaxIngest  int
	IngestWait time.Duration
	// BodyReadTimeout bounds the time a client takes to send a body;
	// WriteTimeout the time one write of a streamed answer may take.
	BodyReadTimeout, WriteTimeout time.Duration

	// Registry receives the metrics; nil means a new one with the Go and
	// process collectors. NoMetrics removes GET /metrics (to serve the
	// registry elsewhere, such as on a separate listener).
	Registry  *prometheus.Registry
	NoMetrics bool

	// Log receives the server's structured logs; nil means slog.Default().
	Log *slog.Logger

	// Now is the clock; nil means time.Now.
	Now func() time.Time

	// Sessions, if set, authenticate a request without an Authorization
	// header by its session cookie (the web console, package console).
	Sessions Sessions
	// Console, if set, answers every path outside the API (/v1/,
	// /proxy/, /metrics, /healthz, /readyz): the web console. Without it
	// those paths are 404.
	Console http.Handler
}

// Sessions tell who a browser signed in as: the web console's session
// cookies. Its method may be called concurrently.
type Sessions interface {
	// SessionToken returns the token of r's session cookie; found is
	// false, and err nil, when r carries none. A session that expired,
	// is unknown or whose token was revoked is an error wrapping
	// auth.ErrUnknownToken. For a method that changes state (any but GET,
	// HEAD and OPTIONS) it also checks r's CSRF token and returns an error
	// wrapping ErrCSRF when it is missing or wrong.
	SessionToken(r *http.Request) (tok auth.Token, found bool, err error)
}

// ErrCSRF is wrapped by Sessions.SessionToken's error when a request that
// changes state lacks its session's CSRF token: it is answered 403.
var ErrCSRF = errors.New("missing or wrong CSRF token")

// A Server is the HTTP service. Its handler may serve many requests at
// once.
type Server struct {
	opts    Options
	l       *comply.Logger
	log     *slog.Logger
	mux     *http.ServeMux
	handler http.Handler
	m       *metrics
	idem    *idempotency
	ingest  chan struct{} // a slot per ingest request in flight
	proxies []*llm.Transport

	failing atomic.Int64 // write failures since the last success

	verifyMu   sync.Mutex
	lastVerify *verifyResult
}

// New returns a Server, loading the idempotency keys of the last day.
func New(opts Options) (*Server, error) {
	if opts.Logger == nil {
		return nil, errors.New("server: no Logger")
	}
	if opts.Auth == nil && !opts.InsecureNoAuth {
		return nil, errors.New("server: no Auth (tokens); only InsecureNoAuth runs without")
	}
	o := &opts
	if o.MaxBody <= 0 {
		o.MaxBody = DefaultMaxBody
	}
	if o.MaxIngest <= 0 {
		o.MaxIngest = DefaultMaxIngest
	}
	if o.IngestWait <= 0 {
		o.IngestWait = DefaultIngestWait
	}
	if o.BodyReadTimeout <= 0 {
		o.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
		o.Registry.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	}
	s := &Server{opts: opts, l: o.Logger, log: o.Log, mux: http.NewServeMux(), ingest: make(chan struct{}, o.MaxIngest)}
	s.m = newMetrics(s)
	if err := o.Registry.Register(s.m); err != nil {
		return nil, fmt.Errorf("server: metrics: %w", err)
	}
	ap := o.IdempotencyStore
	if ap == nil {
		ap, _ = o.Logger.Store().(store.Appender)
	}
	if ap == nil {
		s.log.Warn("idempotency keys kept in memory only: the store keeps no append-only blobs")
	}
	var err error
	if s.idem, err = openIdempotency(context.Background(), ap, writerOf(o.Logger.Store()), o.Now); err != nil {
		return nil, err
	}
	if err := s.routes(); err != nil {
		return nil, err
	}
	s.handler = s.instrument(s.mux)
	return s, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Registry returns the registry of the server's metrics.
func (s *Server) Registry() *prometheus.Registry { return s.opts.Registry }

// ObserveSync records the duration of one store sync (an fsync, an S3
// PUT) in the comply_fsync_duration_seconds histogram: set it as the
// store's sync hook (filestore.Options.OnSync, s3store.Options.OnSync).
func (s *Server) ObserveSync(d time.Duration) { s.m.sync.Observe(d.Seconds()) }

// writerOf returns the writer id of a shared store (S3 with several
// replicas), "" otherwise.
func writerOf(st store.Store) string {
	if w, ok := st.(store.Shared); ok {
		return w.WriterID()
	}
	return ""
}

// A route is one pattern of the mux and what it needs.
type route struct {
	pattern  string
	role     auth.Role // "" for no token
	recorded bool      // a read of evidence, recorded in the access log
	h        func(c *call)
}

func (s *Server) routes() error {
	rs := []route{
		{"POST /v1/entries", auth.Ingest, false, s.postEntries},
		{"GET /v1/entries", auth.Read, true, s.getEntries},
		{"GET /v1/entries/{id}", auth.Read, true, s.getEntry},
		{"GET /v1/entries/{id}/proof", auth.Read, true, s.getProof},
		{"POST /v1/entries/{id}/decrypt", auth.Decrypt, true, s.decrypt},
		{"GET /v1/count", auth.Read, false, s.count},
		{"GET /v1/stats", auth.Read, false, s.stats},
		{"GET /v1/timeseries", auth.Read, false, s.timeseries},
		{"GET /v1/breakdown", auth.Read, true, s.breakdown},
		{"GET /v1/integrity", auth.Read, false, s.integrity},
		{"POST /v1/verify", auth.Admin, true, s.verify},
		{"GET /v1/access", auth.Admin, true, s.access},
		{"GET /v1/reports", auth.Read, true, s.reports},
		{"GET /healthz", "", false, s.healthz},
		{"GET /readyz", "", false, s.readyz},
	}
	for _, rt := range rs {
		s.mux.Handle(rt.pattern, s.wrap(rt))
	}
	if s.opts.Traces != nil {
		h := s.opts.Traces(s.logFunc("otlp"))
		s.mux.Handle("POST /v1/traces", s.wrap(route{pattern: "POST /v1/traces", role: auth.Ingest, h: func(c *call) {
			if !s.acquireIngest(c) {
				return
			}
			defer func() { <-s.ingest }()
			h.ServeHTTP(c.w, c.r)
		}}))
	}
	if !s.opts.NoMetrics {
		s.mux.Handle("GET /metrics", promHandler(s.opts.Registry))
	}
	seen := map[string]bool{}
	for _, up := range s.opts.Upstreams {
		if !validName(up.Name) || seen[up.Name] {
			return fmt.Errorf("server: upstream name %q: want a unique name of letters, digits, '-', '_' or '.'", up.Name)
		}
		if up.URL == nil || (up.URL.Scheme != "http" && up.URL.Scheme != "https") || up.URL.Host == "" {
			return fmt.Errorf("server: upstream %s: want an http or https URL", up.Name)
		}
		seen[up.Name] = true
		s.mux.Handle("/proxy/"+up.Name+"/", s.proxyHandler(up))
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if s.opts.Console != nil && !apiPath(r.URL.Path) {
			s.opts.Console.ServeHTTP(w, r)
			return
		}
		writeError(w, http.StatusNotFound, "no such route: "+r.Method+" "+r.URL.Path)
	})
	return nil
}

// apiPath reports whether p belongs to the API rather than the console.
func apiPath(p string) bool {
	for _, pre := range []string{"/v1/", "/proxy/"} {
		if strings.HasPrefix(p, pre) {
			return true
		}
	}
	switch p {
	case "/v1", "/metrics", "/healthz", "/readyz":
		return true
	}
	return false
}

func validName(s string) bool {
	if s == "" || s == "." || s == ".." {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

// A call is one request to a route, once its token is known.
type call struct {
	s     *Server
	w     http.ResponseWriter
	r     *http.Request
	route string
	tok   auth.Token
	rec   *accesslog.Record // on recorded routes: filled in by the handler
}

// wrap returns the handler of rt: authentication, the role, and the access
// record of a refused read.
func (s *Server) wrap(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := &call{s: s, w: w, r: r, route: rt.pattern}
		if rt.recorded {
			c.rec = &accesslog.Record{Time: s.opts.Now().UTC(), Method: r.Method, Route: rt.pattern, Remote: r.RemoteAddr}
		}
		if rt.role != "" {
			tok, status, msg := s.authenticate(r, "Authorization")
			if status == 0 && !tok.Role.Allows(rt.role) {
				status, msg = http.StatusForbidden, fmt.Sprintf("token %q has role %s; %s needs %s", tok.Name, tok.Role, rt.pattern, rt.role)
			}
			c.tok = tok
			if c.rec != nil {
				c.rec.Token, c.rec.Role = tok.Name, string(tok.Role)
			}
			if status != 0 {
				if status == http.StatusUnauthorized {
					w.Header().Set("WWW-Authenticate", `Bearer realm="comply"`)
				}
				if c.rec != nil {
					c.rec.Denied, c.rec.Reason, c.rec.Status = true, msg, status
					if err := s.record(r.Context(), c.rec); err != nil {
						s.log.Error("access log: a refused read could not be recorded", "route", rt.pattern, "err", err)
					}
				}
				writeError(w, status, msg)
				return
			}
		}
		rt.h(c)
	})
}

// authenticate returns the token whose secret the header carries, or the
// status (401, 503) and the message of the refusal.
func (s *Server) authenticate(r *http.Request, header string) (auth.Token, int, string) {
	if s.opts.InsecureNoAuth {
		return auth.Token{Name: InsecureTokenName, Role: auth.Admin}, 0, ""
	}
	v := r.Header.Get(header)
	if v == "" && header == "Authorization" && s.opts.Sessions != nil {
		tok, found, err := s.opts.Sessions.SessionToken(r)
		switch {
		case !found:
		case errors.Is(err, ErrCSRF):
			return auth.Token{}, http.StatusForbidden, "the session's CSRF token is missing or wrong: reload the page"
		case errors.Is(err, auth.ErrUnknownToken):
			return auth.Token{}, http.StatusUnauthorized, "the session expired or its token was revoked: sign in again"
		case err != nil:
			s.log.Error("session", "err", err)
			return auth.Token{}, http.StatusServiceUnavailable, "tokens unavailable"
		default:
			return tok, 0, ""
		}
	}
	secret := v
	if header == "Authorization" {
		scheme, rest, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return auth.Token{}, http.StatusUnauthorized, "no bearer token: send Authorization: Bearer TOKEN"
		}
		secret = strings.TrimSpace(rest)
	}
	if secret == "" {
		return auth.Token{}, http.StatusUnauthorized, "no token: send " + header + ": " + tokenHint(header)
	}
	tok, err := s.opts.Auth.Authenticate(r.Context(), secret)
	switch {
	case errors.Is(err, auth.ErrUnknownToken):
		return auth.Token{}, http.StatusUnauthorized, "unknown or revoked token"
	case err != nil:
		s.log.Error("authenticate", "err", err)
		return auth.Token{}, http.StatusServiceUnavailable, "tokens unavailable"
	}
	return tok, 0, ""
}

func tokenHint(header string) string {
	if header == "Authorization" {
		return "Bearer TOKEN"
	}
	return "TOKEN"
}

// record writes an access record.
func (s *Server) record(ctx context.Context, rec *accesslog.Record) error {
	if s.opts.Access == nil {
		return errors.New("no access log configured")
	}
	s.m.reads.WithLabelValues(rec.Role).Inc()
	return s.opts.Access.Record(context.WithoutCancel(ctx), *rec)
}

// reply answers with status and the JSON body, after recording the access
// on a recorded route: if the record cannot be written, the answer is 503
// and the body is not sent.
func (c *call) reply(status int, body []byte) {
	if c.rec != nil {
		c.rec.Status = status
		if status >= 400 && c.rec.Reason == "" {
			c.rec.Reason = errorText(body)
		}
		if err := c.s.record(c.r.Context(), c.rec); err != nil {
			c.s.log.Error("access log: write failed; the read is refused", "route", c.route, "err", err)
			writeError(c.w, http.StatusServiceUnavailable, "the access log cannot be written: the read is refused")
			return
		}
	}
	c.w.Header().Set("Content-Type", "application/json")
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.WriteHeader(status)
	c.w.Write(body)
}

// replyJSON answers with v encoded as JSON.
func (c *call) replyJSON(status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		c.fail(http.StatusInternalServerError, "encoding the answer failed")
		return
	}
	c.reply(status, append(b, '\n'))
}

// errUnknownParam is returned by a params callback for a parameter its
// route does not take.
var errUnknownParam = errors.New("unknown parameter")

// params calls each for every query parameter, which must be given once,
// and records them as the read's filters in the access log (on a route
// that records its reads). A parameter
// that each refuses is answered 400: with errUnknownParam, naming what the
// route takes (want); with another error, saying what is wrong with it.
// It reports whether every parameter was taken.
func (c *call) params(want string, each func(k, v string) error) bool {
	filters := map[string]string{}
	for k, vs := range c.r.URL.Query() {
		if len(vs) != 1 {
			c.fail(http.StatusBadRequest, "parameter "+k+" given more than once")
			return false
		}
		filters[k] = vs[0]
		err := each(k, vs[0])
		if errors.Is(err, errUnknownParam) {
			c.fail(http.StatusBadRequest, "unknown parameter "+k+" (want "+want+")")
			return false
		}
		if err != nil {
			c.fail(http.StatusBadRequest, "parameter "+k+": "+err.Error())
			return false
		}
	}
	if c.rec != nil { // a route that records its reads
		c.rec.Filters = filters
	}
	return true
}

// fail answers with an error.
func (c *call) fail(status int, msg string) {
	c.reply(status, errorBody(msg, nil))
}

func errorBody(msg string, extra map[string]any) []byte {
	m := map[string]any{"error": msg}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return append(b, '\n')
}

func errorText(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(body, &e)
	return e.Error
}

// writeError writes {"error": msg} with status.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(errorBody(msg, nil))
}

// logFunc returns the function that logs a batch for source, counting it
// in the metrics and the readiness.
func (s *Server) logFunc(source string) func(context.Context, []comply.Interaction) ([]string, error) {
	return func(ctx context.Context, ins []comply.Interaction) ([]string, error) {
		return s.logBatch(ctx, source, ins)
	}
}

func (s *Server) logBatch(ctx context.Context, source string, ins []comply.Interaction) ([]string, error) {
	start := time.Now()
	if comply.RouteFrom(ctx) == "" {
		ctx = comply.WithRoute(ctx, source) // the policy's route: "api" or "otlp"
	}
	ids, err := s.l.LogBatch(ctx, ins...)
	s.m.append.Observe(time.Since(start).Seconds())
	if err != nil {
		var ie *comply.InvalidError
		if !errors.As(err, &ie) && !errors.Is(err, comply.ErrEntryTooLarge) && !errors.Is(err, comply.ErrMissingMetadata) && ctx.Err() == nil {
			s.m.writeErrors.Inc()
			s.failing.Add(1)
		}
		return nil, err
	}
	s.failing.Store(0)
	n := 0
	for _, id := range ids {
		if id != "" { // "": counted by the logging policy (level none), not written
			n++
		}
	}
	s.m.written(source, n)
	return ids, nil
}

// acquireIngest takes an ingest slot, waiting at most IngestWait; it
// answers 503 and returns false when none frees.
func (s *Server) acquireIngest(c *call) bool {
	select {
	case s.ingest <- struct{}{}:
		return true
	default:
	}
	t := time.NewTimer(s.opts.IngestWait)
	defer t.Stop()
	select {
	case s.ingest <- struct{}{}:
		return true
	case <-t.C:
	case <-c.r.Context().Done():
	}
	c.w.Header().Set("Retry-After", "1")
	c.fail(http.StatusServiceUnavailable, "too many ingest requests in flight; retry")
	return false
}

func (s *Server) healthz(c *call) {
	c.replyJSON(http.StatusOK, map[string]any{"status": "ok"})
}

// readyz is 503 while writes fail: after a failed write, until one
// succeeds.
func (s *Server) readyz(c *call) {
	n := s.failing.Load()
	for _, t := range s.proxies {
		n += t.Stats().FailedInARow
	}
	if n > 0 {
		c.replyJSON(http.StatusServiceUnavailable, map[string]any{"status": "not ready", "reason": fmt.Sprintf("the last %d writes failed; ready again after the next write succeeds", n)})
		return
	}
	c.replyJSON(http.StatusOK, map[string]any{"status": "ready"})
}

// hashKey returns the idempotency table's key of a client's key: a hash,
// so that neither appears in the store.
func hashKey(token, key string) string {
	h := sha256.Sum256([]byte(token + "\x00" + key))
	return hex.EncodeToString(h[:])
}

var numCPU = runtime.GOMAXPROCS(0)
