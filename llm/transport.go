package llm

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/complyhq/comply"
)

// Defaults of the Transport's limits.
const (
	// DefaultMaxRequestBody bounds the request body read into memory to
	// record the input. A larger body is sent upstream unchanged, streamed,
	// and its entry records no input.
	DefaultMaxRequestBody = 64 << 20
	// DefaultMaxResponseBody bounds what is kept of a response to parse it:
	// the JSON body, or the reassembled text of a stream. Past it, the
	// output is recorded truncated, with an alert.
	DefaultMaxResponseBody = 32 << 20
	// DefaultWriteTimeout bounds one entry's write.
	DefaultWriteTimeout = 30 * time.Second
)

// Request headers that carry audit context. They are removed, with every
// other X-Comply-* header, before the request goes upstream.
const (
	HeaderConversationID = "X-Comply-Conversation-Id"
	HeaderMetadata       = "X-Comply-Metadata" // a JSON object
	headerPrefix         = "X-Comply-"
)

// ErrNotLogged is wrapped by the error a fail-closed Transport returns when
// an entry could not be written, and by the errors passed to OnError.
var ErrNotLogged = errors.New("llm: audit entry not written")

// An InputMode says what a Transport records as an entry's input.
type InputMode int

const (
	// LastUserMessage records the text of the last user message, as the
	// seed's wrappers do (text parts joined by newlines).
	LastUserMessage InputMode = iota
	// WholeConversation records the request's conversation as compact
	// JSON, exactly as sent: {"messages": [...]} for Chat Completions,
	// {"instructions": ..., "input": ...} for Responses and
	// {"system": ..., "messages": [...]} for Messages, with only the
	// fields present.
	WholeConversation
)

// A Transport is an http.RoundTripper that logs every LLM API call it
// carries. See the package documentation for what it records and when.
//
// Set the fields before first use; a Transport must not be copied after
// first use. Its methods may be called concurrently.
type Transport struct {
	// Base carries the requests; nil means http.DefaultTransport.
	Base http.RoundTripper

	// Logger receives the entries. It is required.
	Logger *comply.Logger

	// Input selects what is recorded as the input.
	Input InputMode

	// FailOpen lets a call go on when its entry cannot be written. The
	// default, fail-closed, fails the call instead.
	FailOpen bool

	// OnError is called, on the caller's goroutine, with every write
	// failure (an error wrapping ErrNotLogged), in both modes. Nil means
	// logging it with slog.Default.
	OnError func(error)

	// MaxRequestBody and MaxResponseBody bound memory per call; zero means
	// DefaultMaxRequestBody and DefaultMaxResponseBody.
	MaxRequestBody  int64
	MaxResponseBody int

	// MaxBuffered bounds the request body bytes held in memory by all the
	// calls in flight together (decoded bodies included); zero means
	// DefaultMaxBuffered. A request body larger than MaxRequestBody, or
	// that does not fit in what is left of MaxBuffered, is sent upstream
	// as it arrives, unparsed, and hashed on the way: its entry's
	// input_hash is the hash of the whole body as sent, with an alert
	// saying so, and no model or input text.
	MaxBuffered int64

	// Prices, if set, prices each call by its model and token counts: the
	// entry's metadata gets its "cost_usd" (see Prices).
	Prices Prices

	// WriteTimeout bounds one entry's write; zero means
	// DefaultWriteTimeout. The write does not stop when the request's
	// context is cancelled: a call abandoned by its caller is logged too.
	WriteTimeout time.Duration

	// Route names the front end to the Logger's policy (comply.WithRoute)
	// when the request's context names none: "proxy/<upstream>" in comply
	// serve, "proxy" in comply proxy. Empty means "transport".
	Route string

	audited, passed, logged, failed, failOpen atomic.Int64
	streamed                                  atomic.Int64
	failRun, lastFail                         atomic.Int64 // failures since the last success; unix ns of the last
	budget                                    budget
}

// Stats are a Transport's counters since it was created.
type Stats struct {
	Audited     int64 // LLM API calls seen
	Passthrough int64 // other requests, passed through unaudited
	Logged      int64 // entries written
	WriteFailed int64 // entries that could not be written
	FailedOpen  int64 // calls that went on without their entry (FailOpen)

	// FailedInARow counts the write failures since the last entry written;
	// LastFailure is the time of the last failure (zero if none).
	FailedInARow int64
	LastFailure  time.Time

	// Streamed counts request bodies sent upstream unbuffered, hashed as
	// they went, for their size or the memory budget (see MaxBuffered).
	Streamed int64
	// Buffered is the request body bytes held in memory now.
	Buffered int64
}

// Stats returns the Transport's counters.
func (t *Transport) Stats() Stats {
	return Stats{
		Audited:     t.audited.Load(),
		Passthrough: t.passed.Load(),
		Logged:      t.logged.Load(),
		WriteFailed: t.failed.Load(),
		FailedOpen:  t.failOpen.Load(),

		FailedInARow: t.failRun.Load(),
		LastFailure:  unixTime(t.lastFail.Load()),
		Streamed:     t.streamed.Load(),
		Buffered:     t.budget.held(),
	}
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}

// Client returns an *http.Client that sends its requests through t, for
// the SDKs' WithHTTPClient options.
func (t *Transport) Client() *http.Client { return &http.Client{Transport: t} }

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.roundTrip(req, t.base().RoundTrip)
}

// Middleware audits one request sent by next. Its signature is that of the
// OpenAI and Anthropic SDKs' middleware, so that
// option.WithMiddleware(t.Middleware) audits a client that keeps its own
// *http.Client.
func (t *Transport) Middleware(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	return t.roundTrip(req, next)
}

func (t *Transport) base() http.RoundTripper {
	if t.Base != nil {
		return t.Base
	}
	return http.DefaultTransport
}

type ctxKey int

const (
	convKey ctxKey = iota
	metaKey
)

// WithConversationID returns a context whose LLM calls are logged with the
// conversation id.
func WithConversationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, convKey, id)
}

// WithMetadata returns a context whose LLM calls are logged with md in
// their metadata, merged over the metadata ctx already carries. The map is
// copied.
func WithMetadata(ctx context.Context, md map[string]any) context.Context {
	merged := maps.Clone(metadataFrom(ctx))
	if merged == nil {
		merged = make(map[string]any, len(md))
	}
	maps.Copy(merged, md)
	return context.WithValue(ctx, metaKey, merged)
}

func metadataFrom(ctx context.Context) map[string]any {
	md, _ := ctx.Value(metaKey).(map[string]any)
	return md
}

// call is one audited exchange in flight.
type call struct {
	t       *Transport
	api     api
	start   time.Time
	path    string
	req     requestInfo
	conv    string
	meta    map[string]any
	alerts  []string
	retry   int      // the SDK's retry number, 0 for a first attempt
	secrets []string // credentials of the request, scrubbed from what is recorded

	reserved   int64        // bytes of the Transport's budget this call holds
	streamBody *hashingBody // the request body, if streamed unbuffered
	inputHash  string       // the input's hash, when the input is the body as sent
}

func (t *Transport) roundTrip(req *http.Request, next func(*http.Request) (*http.Response, error)) (*http.Response, error) {
	if t.Logger == nil {
		closeBody(req)
		return nil, errors.New("llm: Transport.Logger is nil")
	}
	a := detect(req.Method, req.URL.Path)
	if a == apiNone {
		t.passed.Add(1)
		if !hasComplyHeaders(req.Header) {
			return next(req)
		}
		out := req.Clone(req.Context())
		stripComplyHeaders(out.Header)
		return next(out)
	}
	t.audited.Add(1)
	c := &call{t: t, api: a, start: time.Now(), path: req.URL.Path}
	c.context(req)

	out := req.Clone(req.Context())
	stripComplyHeaders(out.Header)
	if req.Body != nil && req.Body != http.NoBody {
		if err := c.requestBody(req, out); err != nil {
			req.Body.Close()
			err = fmt.Errorf("llm: reading request body: %w", err)
			return nil, c.fail(req.Context(), err, outcome{errType: ErrorRequest, errMsg: "request error: " + err.Error()})
		}
	}

	if a.gemini() {
		// Gemini names the model in the path, and streams by method.
		if m := pathModel(req.URL.Path); m != "" {
			c.req.model = m
		}
		c.req.stream = a == apiGeminiStream
	}
	resp, err := next(out)
	if err != nil {
		return nil, c.fail(req.Context(), err, transportError(err, req.Context().Err() != nil, "upstream error: "))
	}
	resp.Body = newBody(req.Context(), c, resp)
	return resp, nil
}

// context gathers the conversation id, metadata and credentials of req.
func (c *call) context(req *http.Request) {
	ctx := req.Context()
	c.conv, _ = ctx.Value(convKey).(string)
	c.meta = maps.Clone(metadataFrom(ctx))
	if v := req.Header.Get(HeaderConversationID); v != "" {
		c.conv = v
	}
	c.conv = strings.ToValidUTF8(c.conv, "\uFFFD")
	if v := req.Header.Get(HeaderMetadata); v != "" {
		md, err := decodeObject([]byte(v))
		if err != nil {
			c.alerts = append(c.alerts, HeaderMetadata+" ignored: not a JSON object")
		} else {
			if c.meta == nil {
				c.meta = make(map[string]any, len(md))
			}
			maps.Copy(c.meta, md)
		}
	}
	// The OpenAI and Anthropic SDKs number their retries: each attempt is
	// an entry of its own, and says which it was.
	if v := req.Header.Get("X-Stainless-Retry-Count"); v != "" && v != "0" {
		if n, err := strconv.Atoi(v); err == nil && n > 0 {
			c.retry = n
		}
	}
	if v := req.Header.Get("Authorization"); v != "" {
		_, tok, _ := strings.Cut(v, " ")
		c.secrets = append(c.secrets, v, tok)
	}
	for _, h := range []string{"X-Api-Key", "Api-Key", "X-Goog-Api-Key"} {
		if v := req.Header.Get(h); v != "" {
			c.secrets = append(c.secrets, v)
		}
	}
	if req.URL.RawQuery != "" {
		// Gemini takes its key in the query too (?key=...), and a
		// transport error repeats the URL.
		if v := req.URL.Query().Get("key"); v != "" {
			c.secrets = append(c.secrets, v)
		}
	}
}

// decodeObject decodes a JSON object, keeping numbers as written.
func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var md map[string]any
	if err := d.Decode(&md); err != nil {
		return nil, err
	}
	if md == nil || d.More() {
		return nil, errors.New("not a JSON object")
	}
	return md, nil
}

// fail logs a call that got no response and returns the error for the
// caller: err itself, joined with the write failure when fail-closed.
func (c *call) fail(ctx context.Context, err error, o outcome) error {
	in := c.interaction(nil, 0, o)
	if werr := c.write(ctx, in); werr != nil && !c.t.FailOpen {
		return fmt.Errorf("%w (%w)", err, werr)
	}
	return err
}

// write logs in and handles a failure as the mode says: it returns the
// error to give the caller when fail-closed, nil otherwise.
func (c *call) write(ctx context.Context, in comply.Interaction) error {
	t := c.t
	defer c.release()
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), t.writeTimeout())
	defer cancel()
	if comply.RouteFrom(wctx) == "" {
		wctx = comply.WithRoute(wctx, cmp.Or(t.Route, "transport"))
	}
	_, err := t.Logger.Log(wctx, in)
	var ie *comply.InvalidError
	if errors.As(err, &ie) && ie.Field == "metadata" && len(c.meta) > 0 {
		// The caller's metadata cannot be encoded (a NaN, invalid UTF-8,
		// a value that is not JSON): keep the entry without it.
		in.Metadata = c.ownMetadata(in.Metadata)
		in.Alerts = append(in.Alerts, "caller's metadata dropped: "+strings.ToValidUTF8(ie.Err.Error(), "\uFFFD"))
		_, err = t.Logger.Log(wctx, in)
	}
	if err != nil && errors.Is(err, comply.ErrEntryTooLarge) {
		// Keep the entry, with the content cut to fit; the alert carries
		// the hash of the whole.
		in = c.shrink(in)
		_, err = t.Logger.Log(wctx, in)
	}
	if err == nil {
		t.logged.Add(1)
		t.failRun.Store(0)
		return nil
	}
	t.failed.Add(1)
	t.failRun.Add(1)
	t.lastFail.Store(time.Now().UnixNano())
	err = fmt.Errorf("%w: %s %s: %w", ErrNotLogged, c.api.provider(), c.path, err)
	if t.OnError != nil {
		t.OnError(err)
	} else {
		slog.Default().Error("comply: audit entry not written", "err", err, "fail_open", t.FailOpen)
	}
	if t.FailOpen {
		t.failOpen.Add(1)
		return nil
	}
	return err
}

// ownKeys are the metadata keys a Transport sets.
var ownKeys = map[string]bool{
	"api": true, "path": true, "stream": true, "http_status": true, "user": true, "retry": true,
	"requested_model": true, "response_id": true, "request_id": true, "finish_reason": true, "tool_calls": true,
	"error": true, "ttft_ms": true, "cost_usd": true, "embeddings": true,
}

// ownMetadata returns the metadata md without the caller's keys.
func (c *call) ownMetadata(md any) map[string]any {
	m, _ := md.(map[string]any)
	out := make(map[string]any, len(ownKeys))
	for k, v := range m {
		if ownKeys[k] {
			out[k] = v
		}
	}
	return out
}

// shrinkTo is the content size kept when an entry is too large.
const shrinkTo = 64 << 10

func (c *call) shrink(in comply.Interaction) comply.Interaction {
	l := c.t.Logger
	if len(in.Input) > shrinkTo {
		in.Alerts = append(in.Alerts, fmt.Sprintf("input of %d bytes cut to %d to fit the entry size limit; hash of the whole input: %s", len(in.Input), shrinkTo, l.Hash(in.Input)))
		in.Input = truncateUTF8(in.Input, shrinkTo)
	}
	if len(in.Output) > shrinkTo {
		in.Alerts = append(in.Alerts, fmt.Sprintf("output of %d bytes cut to %d to fit the entry size limit; hash of the whole output: %s", len(in.Output), shrinkTo, l.Hash(in.Output)))
		in.Output = truncateUTF8(in.Output, shrinkTo)
	}
	return in
}

// interaction builds the entry of the call from what the request and the
// response (res, nil if none) said, and how the call ended.
func (c *call) interaction(res *result, status int, o outcome) comply.Interaction {
	in := comply.Interaction{
		Input:          c.req.input,
		Provider:       c.api.provider(),
		Model:          c.req.model,
		ConversationID: c.conv,
		Latency:        time.Since(c.start),
		Alerts:         c.alerts,
		InputHash:      c.inputHash,
	}
	if c.streamBody != nil {
		sum, alert := c.streamBody.finish()
		in.InputHash = sum
		if alert != "" {
			in.Alerts = append(slices.Clip(in.Alerts), c.scrub(alert))
		}
	}
	md := make(map[string]any, 8) // the Transport's own keys
	md["api"] = c.api.String()
	md["path"] = c.path
	md["stream"] = c.req.stream
	if c.req.user != "" {
		md["user"] = c.req.user
	}
	if c.retry > 0 {
		md["retry"] = c.retry
	}
	if status != 0 {
		md["http_status"] = status
	}
	if res != nil {
		if !c.req.parsed {
			md["stream"] = res.stream // the request did not say
		}
		in.Output = res.text()
		if res.model != "" {
			if c.req.model != "" && res.model != c.req.model {
				md["requested_model"] = c.req.model
			}
			in.Model = res.model
		}
		in.InputTokens, in.OutputTokens = res.inTok, res.outTok
		if res.id != "" {
			md["response_id"] = res.id
		}
		if res.requestID != "" {
			md["request_id"] = res.requestID
		}
		if res.finish != "" {
			md["finish_reason"] = res.finish
		}
		if res.embed != nil {
			md["embeddings"] = map[string]any{"count": res.embed.Count, "dimensions": res.embed.Dimensions}
		}
		c.price(md, &in, res, o)
		if !res.firstAt.IsZero() {
			md["ttft_ms"] = float64(res.firstAt.Sub(c.start).Microseconds()) / 1000
		}
		if tcs := res.toolCalls(); len(tcs) > 0 {
			calls := make([]map[string]any, len(tcs))
			for i, tc := range tcs {
				calls[i] = map[string]any{"name": tc.name, "arguments_hash": c.t.Logger.Hash(tc.args)}
			}
			md["tool_calls"] = calls
		}
		if res.toolsDropped {
			in.Alerts = append(in.Alerts, fmt.Sprintf("more than %d tool calls: the rest not recorded", maxTools))
		}
		in.Alerts = append(in.Alerts, res.alerts...)
	}
	if em := o.metadata(c.scrub); em != nil {
		md["error"] = em
		in.Alerts = append(slices.Clip(in.Alerts), em["message"].(string))
	}
	in.Metadata = c.merge(md, &in)
	if o.block != "" {
		in.SafetyFailed = true
		in.BlockReason = c.scrub(o.block)
		if o.detector != "" {
			in.DetectorsTriggered = []string{o.detector}
		}
	}
	return in
}

// price sets the call's "cost_usd", if the Transport has Prices for its
// model, or an alert when a successful call reported no token usage.
func (c *call) price(md map[string]any, in *comply.Interaction, res *result, o outcome) {
	if c.t.Prices == nil {
		return
	}
	pr, ok := c.t.Prices.lookup(in.Model, c.req.model)
	if !ok {
		return
	}
	if cost, ok := pr.cost(res.inTok, res.outTok); ok {
		md["cost_usd"] = cost
	} else if o.errType == "" {
		in.Alerts = append(slices.Clip(in.Alerts), "no cost: the response reported no token usage")
	}
}

// CallerPrefix prefixes a caller's metadata key that the Transport sets
// too: the Transport's value keeps the key, the caller's is kept under
// CallerPrefix+key, with an alert.
const CallerPrefix = "caller."

// merge returns the caller's metadata with the Transport's own keys md
// over it. A caller's key that collides with one of them is never lost
// silently: its value moves to CallerPrefix+key, with an alert (or, if
// that key is taken too, is dropped, with an alert).
func (c *call) merge(md map[string]any, in *comply.Interaction) map[string]any {
	if len(c.meta) == 0 {
		return md
	}
	out := maps.Clone(c.meta)
	var moved []string
	for k := range md {
		if _, ok := out[k]; ok {
			moved = append(moved, k)
		}
	}
	slices.Sort(moved)
	for _, k := range moved {
		ck := CallerPrefix + k
		if _, taken := out[ck]; taken {
			in.Alerts = append(slices.Clip(in.Alerts), fmt.Sprintf("caller's metadata key %q is set by the transport; the caller's value was dropped (%q is taken too)", k, ck))
			continue
		}
		out[ck] = out[k]
		in.Alerts = append(slices.Clip(in.Alerts), fmt.Sprintf("caller's metadata key %q is set by the transport; the caller's value is kept as %q", k, ck))
	}
	maps.Copy(out, md)
	return out
}

// scrub removes the request's credentials, and anything shaped like an
// API key, from s, and makes it valid UTF-8 of bounded length.
func (c *call) scrub(s string) string {
	for _, k := range c.secrets {
		if len(k) >= 8 {
			s = strings.ReplaceAll(s, k, "[redacted]")
		}
	}
	s = redactKeys(s)
	return truncateUTF8(strings.ToValidUTF8(s, "\uFFFD"), 500)
}

// redactKeys replaces words that look like API keys ("sk-...").
func redactKeys(s string) string {
	if !strings.Contains(s, "sk-") {
		return s
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "sk-")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		if i > 0 && isKeyByte(s[i-1]) {
			b.WriteString(s[:i+3])
			s = s[i+3:]
			continue
		}
		b.WriteString(s[:i])
		j := i + 3
		for j < len(s) && (isKeyByte(s[j]) || s[j] == '*') {
			j++
		}
		b.WriteString("sk-[redacted]")
		s = s[j:]
	}
}

func isKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_'
}

func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

func (t *Transport) maxRequestBody() int64 {
	if t.MaxRequestBody > 0 {
		return t.MaxRequestBody
	}
	return DefaultMaxRequestBody
}

func (t *Transport) maxBuffered() int64 {
	if t.MaxBuffered > 0 {
		return t.MaxBuffered
	}
	return DefaultMaxBuffered
}

func (t *Transport) maxResponseBody() int {
	if t.MaxResponseBody > 0 {
		return t.MaxResponseBody
	}
	return DefaultMaxResponseBody
}

func (t *Transport) writeTimeout() time.Duration {
	if t.WriteTimeout > 0 {
		return t.WriteTimeout
	}
	return DefaultWriteTimeout
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

func hasComplyHeaders(h http.Header) bool {
	for k := range h {
		if isComplyHeader(k) {
			return true
		}
	}
	return false
}

func stripComplyHeaders(h http.Header) {
	for k := range h {
		if isComplyHeader(k) {
			delete(h, k)
		}
	}
}

func isComplyHeader(k string) bool {
	return len(k) >= len(headerPrefix) && strings.EqualFold(k[:len(headerPrefix)], headerPrefix)
}
