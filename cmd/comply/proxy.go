package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/proxy"
	"github.com/complyhq/comply/store/filestore"
)

// proxyShutdown bounds the wait for calls in flight on SIGINT or SIGTERM.
const proxyShutdown = 30 * time.Second

// proxyHelp is the description of 'comply proxy'.
const proxyHelp = `
Run an auditing reverse proxy for the OpenAI, Anthropic and Gemini APIs.
Any application, in any language, audits its LLM calls by changing its
base URL to the proxy's: every call to the Chat Completions, Responses,
Messages, Gemini generateContent and embeddings APIs is logged, plain or
streamed; other requests pass through. With --prices, each entry records
its cost.

The client's API key is passed to the upstream and never logged. Responses
stream back unbuffered, byte for byte. Clients may set the headers
X-Comply-Conversation-Id and X-Comply-Metadata (a JSON object); the proxy
records and strips them.

By default the proxy is fail-closed: a call whose entry cannot be written
fails (the client sees an aborted response). With --fail-open the call goes
on, and the failure is reported here and counted at /healthz.

SIGINT or SIGTERM stops the proxy gracefully: it waits for the calls in
flight (at most 30s), then closes the store.

  comply proxy --upstream https://api.openai.com --store /var/log/ai-audit
  OPENAI_BASE_URL=http://127.0.0.1:8787/v1 python app.py

  comply proxy --upstream https://api.anthropic.com --listen 127.0.0.1:8788
  ANTHROPIC_BASE_URL=http://127.0.0.1:8788 node app.js`

// proxyFlags holds the flags of 'comply proxy'.
type proxyFlags struct {
	durability, signingKey, keyFile *string
	listen, upstream, input, prices *string
	failOpen, storeContent          *bool
	limits                          *proxyLimits
	hashKeyFile, cleanupDaily       *string
	policy                          *string
	retentionDays                   *int
}

// proxyConfig is what the flags of 'comply proxy' mean, once checked.
type proxyConfig struct {
	upstream   *url.URL
	input      llm.InputMode
	prices     llm.Prices
	durability filestore.Durability
	opts       *comply.Options
}

func cmdProxy(ctx context.Context, c *cli, args []string) (err error) {
	f, err := c.parseProxyFlags(args)
	if err != nil {
		return err
	}
	cfg, err := f.check()
	if err != nil {
		return err
	}
	l, err := c.openWriter(ctx, cfg.durability, cfg.opts, *f.signingKey)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)

	var mu sync.Mutex // c.stderr is shared by the server's goroutines
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(c.stderr, format, args...)
	}
	t := auditTransport(l, cfg.input, *f.failOpen, report)
	t.Prices = cfg.prices
	f.limits.apply(t)
	ln, err := net.Listen("tcp", *f.listen)
	if err != nil {
		return withHint(fmt.Errorf("listen on %s: %w", *f.listen, err), "pass --listen HOST:PORT with a free port (or set COMPLY_LISTEN)")
	}
	srv := &http.Server{
		Handler:           f.limits.handler(cfg.upstream, t),
		ReadHeaderTimeout: f.limits.clientHeader,
		IdleTimeout:       120 * time.Second,
	}
	writeMode := "fail-closed"
	if *f.failOpen {
		writeMode = "fail-open"
	}
	report("comply proxy: listening on http://%s, forwarding to %s\n", ln.Addr(), cfg.upstream.Redacted())
	report("comply proxy: store %s, durability %s, %s, input %s\n", c.store, *f.durability, writeMode, *f.input)
	report("comply proxy: %s\n", postureLine(l, cfg.opts))
	if len(cfg.prices) > 0 {
		report("comply proxy: pricing %d %s from %s\n", len(cfg.prices), plural(len(cfg.prices), "model", "models"), *f.prices)
	}
	if err := serveUntilDone(ctx, srv, ln, report); err != nil {
		return err
	}
	st := t.Stats()
	report("comply proxy: %d calls audited, %d entries written, %d write failures (%d passed fail-open), %d other requests\n",
		st.Audited, st.Logged, st.WriteFailed, st.FailedOpen, st.Passthrough)
	return nil
}

// parseProxyFlags defines and parses the flags of 'comply proxy', which
// takes no positional arguments; the environment gives their defaults.
func (c *cli) parseProxyFlags(args []string) (*proxyFlags, error) {
	fs := c.flagSet("proxy", "--upstream URL [flags]", proxyHelp)
	c.storeFlag(fs)
	f := &proxyFlags{
		durability: c.durabilityFlag(fs),
		signingKey: c.signingKeyFlag(fs),
		keyFile:    c.writerKeyFlag(fs),
	}
	f.listen = fs.String("listen", proxyEnv("COMPLY_LISTEN", "127.0.0.1:8787"), "listen on `HOST:PORT` (env COMPLY_LISTEN)")
	f.upstream = fs.String("upstream", os.Getenv("COMPLY_UPSTREAM"), "forward to the API at `URL`, e.g. https://api.openai.com (env COMPLY_UPSTREAM)")
	failOpenDef, _ := strconv.ParseBool(os.Getenv("COMPLY_FAIL_OPEN"))
	f.failOpen = fs.Bool("fail-open", failOpenDef, "let calls go on when their entry cannot be written (env COMPLY_FAIL_OPEN=1)")
	f.input = fs.String("input", proxyEnv("COMPLY_INPUT", "last"), "record as the input the `MODE`: last (the last user message) or all (the whole conversation) (env COMPLY_INPUT)")
	f.storeContent = fs.Bool("store-content", false, "also store the input and output, encrypted (needs a key)")
	f.prices = fs.String("prices", os.Getenv("COMPLY_PRICES"), "record each call's cost from the price table in `FILE`: JSON, {\"models\": {\"gpt-4.1\": {\"input_per_mtok\": 2, \"output_per_mtok\": 8}}}, US dollars per million tokens (env COMPLY_PRICES)")
	f.limits = proxyLimitFlags(fs)
	f.hashKeyFile = c.hashKeyFileFlag(fs, "store keyed hashes (HMAC-SHA256) with the key in `FILE`")
	f.policy = fs.String("policy", "", policyFlagUsage)
	f.retentionDays = fs.Int("retention-days", comply.DefaultRetentionDays, "with --cleanup-daily, keep entries for `N` days")
	f.cleanupDaily = fs.String("cleanup-daily", "", "delete expired entries every day at `HH:MM` local time, while serving (retention without downtime)")
	rest, err := c.parse(fs, args)
	if err != nil {
		return nil, err
	}
	if err := f.limits.check(); err != nil {
		return nil, err
	}
	if len(rest) > 0 {
		return nil, usagef("unexpected argument %q", rest[0])
	}
	return f, nil
}

// check checks the upstream URL, the input mode, the price table, the
// durability and the content options, in that order.
func (f *proxyFlags) check() (*proxyConfig, error) {
	up, err := parseUpstream(*f.upstream)
	if err != nil {
		return nil, err
	}
	cfg := &proxyConfig{upstream: up}
	switch *f.input {
	case "last":
		cfg.input = llm.LastUserMessage
	case "all":
		cfg.input = llm.WholeConversation
	default:
		return nil, &usageError{msg: fmt.Sprintf("--input %q: want last or all", *f.input)}
	}
	if *f.prices != "" {
		if cfg.prices, err = llm.LoadPrices(*f.prices); err != nil {
			return nil, withHint(err, `a price table is JSON: {"models": {"MODEL": {"input_per_mtok": 2.0, "output_per_mtok": 8.0}}}, US dollars per million tokens`)
		}
	}
	if cfg.durability, err = parseDurability(*f.durability); err != nil {
		return nil, err
	}
	if cfg.opts, err = writerOptions(*f.storeContent, *f.keyFile, *f.hashKeyFile); err != nil {
		return nil, err
	}
	if err := f.retention(cfg.opts); err != nil {
		return nil, err
	}
	if f.policy != nil && *f.policy != "" {
		p, err := loadPolicy(*f.policy)
		if err != nil {
			return nil, err
		}
		if err := withPolicy(cfg.opts, p, *f.keyFile); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// retention sets the Logger's retention and daily cleanup from the flags.
func (f *proxyFlags) retention(opts *comply.Options) error {
	if d := *f.retentionDays; d < 1 || d > comply.MaxRetentionDays {
		return usagef("--retention-days must be between 1 and %d (100 years)", comply.MaxRetentionDays)
	}
	if at := *f.cleanupDaily; at != "" {
		if _, err := time.Parse("15:04", at); err != nil {
			return usagef("--cleanup-daily %q: want HH:MM, such as 02:00", at)
		}
		opts.CleanupDaily = at
	}
	opts.RetentionDays = *f.retentionDays
	return nil
}

// auditTransport returns the transport that logs every call to l and
// reports the entries it cannot write.
func auditTransport(l *comply.Logger, mode llm.InputMode, failOpen bool, report func(string, ...any)) *llm.Transport {
	return &llm.Transport{
		Base:     proxy.UpstreamTransport(),
		Logger:   l,
		Route:    "proxy",
		Input:    mode,
		FailOpen: failOpen,
		OnError: func(err error) {
			what := "the call failed (fail-closed)"
			if failOpen {
				what = "the call went on (fail-open)"
			}
			report("comply: error: %s; %s\n", strings.TrimPrefix(err.Error(), "llm: "), what)
		},
	}
}

// serveUntilDone serves on ln until ctx is done, then shuts srv down,
// waiting at most proxyShutdown for the calls in flight. It returns an
// error only when serving fails before ctx is done.
func serveUntilDone(ctx context.Context, srv *http.Server, ln net.Listener, report func(string, ...any)) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	report("comply proxy: shutting down, waiting for calls in flight\n")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), proxyShutdown)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
		report("comply proxy: calls still in flight after %s were cut\n", proxyShutdown)
	}
	<-served
	return nil
}

// parseUpstream checks the --upstream URL.
func parseUpstream(s string) (*url.URL, error) {
	if s == "" {
		return nil, &usageError{msg: "no upstream given", hint: "pass --upstream URL (or set COMPLY_UPSTREAM), e.g. --upstream https://api.openai.com"}
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &usageError{msg: "--upstream must be an http or https URL", hint: "e.g. --upstream https://api.openai.com or --upstream https://api.anthropic.com"}
	}
	if u.User != nil {
		// Do not repeat the URL: it holds credentials.
		return nil, &usageError{msg: "--upstream must not hold credentials", hint: "clients send their own API key; the proxy passes it on"}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, &usageError{msg: "--upstream must not have a query or fragment"}
	}
	return u, nil
}

func proxyEnv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// postureLine says what protects the entries the proxy writes: signing,
// encryption, keyed hashes, retention.
func postureLine(l *comply.Logger, o *comply.Options) string {
	on := func(b bool, yes, no string) string {
		if b {
			return yes
		}
		return no
	}
	cleanup := "no scheduled cleanup"
	if o.CleanupDaily != "" {
		cleanup = fmt.Sprintf("cleanup daily at %s (%d days)", o.CleanupDaily, o.RetentionDays)
	}
	return strings.Join([]string{
		on(l.Ledger() != nil, "signed ledger", "no signing key: entries unsigned"),
		on(o.StoreContent, "content stored encrypted", "hashes only"),
		on(o.HashKey != nil, "keyed hashes", "plain SHA-256 hashes"),
		cleanup,
	}, ", ")
}
