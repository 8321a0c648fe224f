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

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/proxy"
)

// proxyShutdown bounds the wait for calls in flight on SIGINT or SIGTERM.
const proxyShutdown = 30 * time.Second

func cmdProxy(ctx context.Context, c *cli, args []string) (err error) {
	fs := c.flagSet("proxy", "--upstream URL [flags]", `
Run an auditing reverse proxy for the OpenAI and Anthropic APIs. Any
application, in any language, audits its LLM calls by changing its base URL
to the proxy's: every call to the Chat Completions, Responses and Messages
APIs is logged, plain or streamed; other requests pass through.

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
  ANTHROPIC_BASE_URL=http://127.0.0.1:8788 node app.js`)
	c.storeFlag(fs)
	durability := c.durabilityFlag(fs)
	signingKey := c.signingKeyFlag(fs)
	keyFile := c.keyFileFlag(fs)
	listen := fs.String("listen", proxyEnv("COMPLY_LISTEN", "127.0.0.1:8787"), "listen on `HOST:PORT` (env COMPLY_LISTEN)")
	upstream := fs.String("upstream", os.Getenv("COMPLY_UPSTREAM"), "forward to the API at `URL`, e.g. https://api.openai.com (env COMPLY_UPSTREAM)")
	failOpenDef, _ := strconv.ParseBool(os.Getenv("COMPLY_FAIL_OPEN"))
	failOpen := fs.Bool("fail-open", failOpenDef, "let calls go on when their entry cannot be written (env COMPLY_FAIL_OPEN=1)")
	input := fs.String("input", proxyEnv("COMPLY_INPUT", "last"), "record as the input the `MODE`: last (the last user message) or all (the whole conversation) (env COMPLY_INPUT)")
	storeContent := fs.Bool("store-content", false, "also store the input and output, encrypted (needs a key)")
	limits := proxyLimitFlags(fs)
	rest, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if err := limits.check(); err != nil {
		return err
	}
	if len(rest) > 0 {
		return usagef("unexpected argument %q", rest[0])
	}
	up, err := parseUpstream(*upstream)
	if err != nil {
		return err
	}
	var mode llm.InputMode
	switch *input {
	case "last":
		mode = llm.LastUserMessage
	case "all":
		mode = llm.WholeConversation
	default:
		return &usageError{msg: fmt.Sprintf("--input %q: want last or all", *input)}
	}
	dur, err := parseDurability(*durability)
	if err != nil {
		return err
	}
	opts, err := writerOptions(*storeContent, *keyFile)
	if err != nil {
		return err
	}

	l, err := c.openWriter(ctx, dur, opts, *signingKey)
	if err != nil {
		return err
	}
	defer closeLogger(l, &err)

	var mu sync.Mutex // c.stderr is shared by the server's goroutines
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(c.stderr, format, args...)
	}
	t := &llm.Transport{
		Base:     proxy.UpstreamTransport(),
		Logger:   l,
		Input:    mode,
		FailOpen: *failOpen,
		OnError: func(err error) {
			what := "the call failed (fail-closed)"
			if *failOpen {
				what = "the call went on (fail-open)"
			}
			report("comply: error: %s; %s\n", strings.TrimPrefix(err.Error(), "llm: "), what)
		},
	}
	limits.apply(t)
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return withHint(fmt.Errorf("listen on %s: %w", *listen, err), "pass --listen HOST:PORT with a free port (or set COMPLY_LISTEN)")
	}
	srv := &http.Server{
		Handler:           limits.handler(up, t),
		ReadHeaderTimeout: limits.clientHeader,
		IdleTimeout:       120 * time.Second,
	}
	writeMode := "fail-closed"
	if *failOpen {
		writeMode = "fail-open"
	}
	report("comply proxy: listening on http://%s, forwarding to %s\n", ln.Addr(), up.Redacted())
	report("comply proxy: store %s, durability %s, %s, input %s\n", c.store, *durability, writeMode, *input)

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
	st := t.Stats()
	report("comply proxy: %d calls audited, %d entries written, %d write failures (%d passed fail-open), %d other requests\n",
		st.Audited, st.Logged, st.WriteFailed, st.FailedOpen, st.Passthrough)
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
