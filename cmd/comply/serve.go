package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/otlp"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/server"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/server/auth"
	"github.com/complyhq/comply/server/console"
	"github.com/complyhq/comply/store"
)

// serveHelp is the description of 'comply serve'.
const serveHelp = `
Run the audit log as an HTTP service: ingest (POST /v1/entries, the audit
proxy of each upstream under /proxy/NAME/), reads (GET /v1/entries, get,
decrypt, proof, count, stats, integrity, verify), the access log
(GET /v1/access), Prometheus metrics (/metrics) and health (/healthz,
/readyz). Every request needs a bearer token of a role ('comply token
create'); every read of evidence is recorded in the access log beside the
store. See docs/deployment.md.

The configuration comes from the --config YAML file (strict: an unknown
key is an error), overridden by COMPLY_* variables (COMPLY_LISTEN,
COMPLY_STORE, COMPLY_DURABILITY, COMPLY_TOKENS, ...: the key in capitals),
overridden by the flags. --print-config prints the result, without
secrets, and exits.

Without tokens the server refuses to start, unless it listens on loopback
and is given --insecure-no-auth: then every request acts as an admin.
SIGINT or SIGTERM stops it gracefully: it drains the requests in flight
(timeouts.shutdown, 30s), then writes the ledger's last checkpoint.

  comply serve --listen 127.0.0.1:8080 --insecure-no-auth --create
  comply token create --name ci --role ingest
  comply serve --config /etc/comply/comply.yaml`

// serveAuth returns the tokens that authenticate requests, or nil with
// --insecure-no-auth on loopback; a server without tokens does not start.
func (c *cli) serveAuth(cfg *server.Config) (auth.Authenticator, error) {
	if cfg.InsecureNoAuth {
		if !loopback(cfg.Listen) {
			return nil, usagef("--insecure-no-auth serves without tokens: only on a loopback address (127.0.0.1, ::1, localhost), not %s", cfg.Listen)
		}
		return nil, nil
	}
	if c.create {
		if dir, ok, _ := storeDir(c.store); ok {
			if _, _, err := initStore(dir); err != nil {
				return nil, err
			}
		}
	}
	path, err := c.tokensPath(cfg.Tokens)
	if err != nil {
		return nil, err
	}
	f, err := auth.OpenFile(path)
	if err != nil {
		return nil, err
	}
	if n, err := f.Len(); err != nil {
		return nil, err
	} else if n == 0 {
		return nil, &usageError{msg: "no tokens: comply serve does not start without them",
			hint: "create one with 'comply token create --name NAME --role ROLE', or on a loopback address pass --insecure-no-auth"}
	}
	return f, nil
}

func cmdServe(ctx context.Context, c *cli, args []string) (err error) {
	var demo bool
	cfg, printOnly, create, err := c.serveConfig(args, &demo)
	if err != nil {
		return err
	}
	var demoToken string
	if demo && !printOnly {
		if demoToken, err = c.serveDemo(ctx, &cfg); err != nil {
			return err
		}
		create = true
	}
	if printOnly {
		b, err := cfg.YAML()
		if err != nil {
			return err
		}
		_, err = c.stdout.Write(b)
		return err
	}
	c.create = create
	log := newSlog(c, cfg.LogFormat)

	// Tokens first: a server without them does not start.
	authn, err := c.serveAuth(&cfg)
	if err != nil {
		return err
	}
	dur, err := parseDurability(cfg.Durability)
	if err != nil {
		return err
	}
	opts, upstreams, signingKey, verifiers, err := serveWriterSetup(&cfg, log)
	if err != nil {
		return err
	}
	defer clear(opts.HashKey)

	// The store's syncs feed the server's fsync histogram, once it exists.
	var metrics atomic.Pointer[server.Server]
	sctx := withSyncHook(ctx, func(d time.Duration) {
		if s := metrics.Load(); s != nil {
			s.ObserveSync(d)
		}
	})
	c.subject = cfg.SubjectKey
	l, st, err := c.openWriterStore(sctx, dur, opts, signingKey)
	if err != nil {
		return err
	}
	defer c.closeLogger(l, &err)
	al, err := c.openAccessWriter(ctx, dur, signingKey)
	if err != nil {
		return err
	}
	defer c.closeLogger(al, &err)
	srv, err := newServer(&cfg, l, st, accesslog.New(al), authn, upstreams, verifiers, log)
	if err != nil {
		return err
	}
	metrics.Store(srv)

	servers, listeners, err := serveListeners(&cfg, srv, log)
	if err != nil {
		return err
	}
	c.announce(&cfg, listeners[0].Addr().String(), l, opts, demoToken)
	return serveAll(ctx, servers, listeners, time.Duration(cfg.Timeouts.Shutdown), log)
}

// newServer builds the server and its console over the writers: the
// entries' Logger l over st, and the access log.
func newServer(cfg *server.Config, l *comply.Logger, st store.Store, alog *accesslog.Log, authn auth.Authenticator, upstreams []server.Upstream, verifiers []note.Verifier, log *slog.Logger) (*server.Server, error) {
	sopts := server.Options{
		Logger:          l,
		Auth:            authn,
		InsecureNoAuth:  cfg.InsecureNoAuth,
		Access:          alog,
		AccessLog:       alog.Records,
		Upstreams:       upstreams,
		Verifiers:       verifiers,
		MaxBody:         cfg.MaxBody,
		BodyReadTimeout: time.Duration(cfg.Timeouts.BodyRead),
		WriteTimeout:    time.Duration(cfg.Timeouts.Write),
		NoMetrics:       cfg.MetricsListen != "",
		Log:             log,
	}
	if ap, ok := st.(store.Appender); ok {
		sopts.IdempotencyStore = ap
	}
	sopts.Traces = func(log func(context.Context, []comply.Interaction) ([]string, error)) http.Handler {
		return &otlp.Handler{Log: log, MaxBody: cfg.MaxBody, Options: otlp.Options{Hash: l.Hash}}
	}
	con, err := console.New(console.Options{Auth: authn, InsecureNoAuth: cfg.InsecureNoAuth})
	if err != nil {
		return nil, err
	}
	sopts.Sessions, sopts.Console = con, con
	srv, err := server.New(sopts)
	if err != nil {
		return nil, err
	}
	con.SetAPI(srv.Handler())
	return srv, nil
}

// announce prints where the server listens, what protects its entries,
// and, for --demo, the admin token to sign in with.
func (c *cli) announce(cfg *server.Config, addr string, l *comply.Logger, opts *comply.Options, demoToken string) {
	scheme := "http"
	if cfg.TLSCert != "" {
		scheme = "https"
	}
	auth := "tokens"
	if cfg.InsecureNoAuth {
		auth = "NO AUTHENTICATION (--insecure-no-auth)"
	}
	fmt.Fprintf(c.stderr, "comply serve: listening on %s://%s, store %s, durability %s, %s\n", scheme, addr, c.storeName(), cfg.Durability, auth)
	fmt.Fprintf(c.stderr, "comply serve: %s\n", postureLine(l, opts))
	fmt.Fprintf(c.stderr, "comply serve: the console: %s://%s/\n", scheme, consoleHost(addr))
	if demoToken != "" {
		fmt.Fprintf(c.stdout, "Open %s://%s/ and sign in with this admin token (shown once):\n\n  %s\n\nThe demo store is %s; Ctrl-C stops the server.\n", scheme, consoleHost(addr), demoToken, c.store)
	}
}

// serveAll serves until ctx is done, then shuts every server down,
// waiting at most drain for the requests in flight.
func serveAll(ctx context.Context, servers []*http.Server, lns []net.Listener, drain time.Duration, log *slog.Logger) error {
	served := make(chan error, len(servers))
	for i, s := range servers {
		go func() { served <- s.Serve(lns[i]) }()
	}
	select {
	case err := <-served:
		for _, s := range servers {
			s.Close()
		}
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining the requests in flight", "within", drain)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), drain)
	defer cancel()
	for _, s := range servers {
		if err := s.Shutdown(sctx); err != nil {
			s.Close()
			log.Warn("requests still in flight were cut", "after", drain)
		}
	}
	for range servers {
		<-served
	}
	return nil
}

// serveKeys maps each configuration key to its flag and variable: the key
// with '-' for '_', and COMPLY_ and the key in capitals.
var serveKeys = []string{"listen", "metrics_listen", "store", "durability", "signing_key", "key_file", "key_source", "seal_to", "seal_session", "identity_file", "subject_key", "store_content",
	"hash_key_file", "retention_days", "cleanup_daily", "tokens", "tls_cert", "tls_key", "insecure_no_auth", "max_body", "log_format"}

// serveConfig builds the configuration: defaults, the --config file (or
// COMPLY_CONFIG), the COMPLY_* variables, the flags. It returns whether
// --print-config was given, and --create.
func (c *cli) serveConfig(args []string, demo *bool) (cfg server.Config, printOnly, create bool, err error) {
	cfg = server.DefaultConfig()
	path := os.Getenv("COMPLY_CONFIG")
	for i, a := range args {
		if a == "--" {
			break
		}
		switch {
		case a == "--config" || a == "-config":
			if i+1 < len(args) {
				path = args[i+1]
			}
		case strings.HasPrefix(a, "--config=") || strings.HasPrefix(a, "-config="):
			path = a[strings.IndexByte(a, '=')+1:]
		}
	}
	if path != "" {
		if err := server.LoadConfig(path, &cfg); err != nil {
			return cfg, false, false, err
		}
	}
	// The global --store (before the command) and COMPLY_STORE already set
	// c.store; the file's store applies when neither was given.
	if c.store == defaultStore && os.Getenv("COMPLY_STORE") == "" {
		c.store = cfg.Store
	}

	fs := c.flagSet("serve", "[--config FILE] [--listen HOST:PORT] [flags]", serveHelp)
	fs.String("config", path, "read the configuration from the YAML `FILE` (env COMPLY_CONFIG)")
	printCfg := fs.Bool("print-config", false, "print the effective configuration, without secrets, and exit")
	fs.BoolVar(demo, "demo", false, "serve the demo's sample data from a new temporary store (or --store DIR, a new directory), with an admin token printed for the console")
	fs.BoolVar(&create, "create", false, "create the store directory if it does not exist, as 'comply init' does (never an S3 bucket)")
	c.storeFlag(fs)
	fs.StringVar(&cfg.Listen, "listen", cfg.Listen, "listen on `HOST:PORT` (env COMPLY_LISTEN)")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", cfg.MetricsListen, "serve /metrics on `HOST:PORT` instead of the main address")
	fs.StringVar(&cfg.Durability, "durability", cfg.Durability, "when a write returns, `MODE`: always (once fsynced), interval (fsync every 100 ms) or none")
	fs.StringVar(&cfg.SigningKey, "signing-key", cfg.SigningKey, "sign the log's checkpoints with the key in `FILE` (mode 600; env "+envSigningKey+")")
	fs.StringVar(&cfg.KeyFile, "key-file", cfg.KeyFile, "read the encryption key(s) from `FILE` (mode 600) instead of AUDIT_ENCRYPTION_KEY")
	fs.StringVar(&cfg.KeySource, "key-source", cfg.KeySource, "load the encryption key(s) from `SPEC` (env:NAME, file:PATH, aws-sm:SECRET_ID, vault:MOUNT/PATH#FIELD, kms:PATH), reloaded every minute")
	fs.StringVar(&cfg.SealTo, "seal-to", cfg.SealTo, "seal stored content to the public key in `FILE` (NAME.pub): this server cannot read it back without --identity-file")
	fs.Func("seal-session", "with --seal-to, one key encapsulation per `DURATION` (e.g. 1m) instead of per content (docs/keys.md)", func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("want a duration such as 1m")
		}
		cfg.SealSession = server.Duration(d)
		return nil
	})
	fs.StringVar(&cfg.IdentityFile, "identity-file", cfg.IdentityFile, "open sealed (HPKE) content for the decrypt role with the private key in `FILE` (mode 600)")
	fs.StringVar(&cfg.SubjectKey, "subject-key", cfg.SubjectKey, "seal content per data subject, named by the metadata `KEY` (such as user_id), so that 'comply erase' can crypto-shred it")
	fs.BoolVar(&cfg.StoreContent, "store-content", cfg.StoreContent, "also store the input and output, encrypted (needs a key)")
	fs.StringVar(&cfg.HashKeyFile, "hash-key-file", cfg.HashKeyFile, "store keyed hashes (HMAC-SHA256) with the key in `FILE` (mode 600)")
	fs.IntVar(&cfg.RetentionDays, "retention-days", cfg.RetentionDays, "with --cleanup-daily, keep entries for `N` days")
	fs.StringVar(&cfg.CleanupDaily, "cleanup-daily", cfg.CleanupDaily, "delete expired entries every day at `HH:MM` local time, while serving")
	fs.StringVar(&cfg.Tokens, "tokens", cfg.Tokens, "the tokens `FILE` (default DIR/.comply/tokens.json for a directory store)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "serve HTTPS with the certificate in `FILE` (PEM; with --tls-key)")
	fs.StringVar(&cfg.TLSKey, "tls-key", cfg.TLSKey, "the TLS private key `FILE` (PEM)")
	fs.BoolVar(&cfg.InsecureNoAuth, "insecure-no-auth", cfg.InsecureNoAuth, "serve without tokens, every request as admin: on loopback only")
	fs.Int64Var(&cfg.MaxBody, "max-body", cfg.MaxBody, "refuse request bodies larger than `BYTES` (413)")
	fs.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "the server's logs on stderr, `FORMAT`: text or json")
	policyFile := fs.String("policy", "", policyFlagUsage+"; replaces the configuration's policy section")
	for _, key := range serveKeys {
		name := strings.ReplaceAll(key, "_", "-")
		if key == "store" {
			continue // c.store, above
		}
		if v, ok := os.LookupEnv("COMPLY_" + strings.ToUpper(key)); ok && v != "" {
			if err := fs.Set(name, v); err != nil {
				return cfg, false, false, usagef("COMPLY_%s=%q: %v", strings.ToUpper(key), v, err)
			}
		}
	}
	if key := os.Getenv(envSigningKey); key != "" && !isFlagIn(args, "signing-key") {
		cfg.SigningKey = key
	}
	rest, err := c.parse(fs, args)
	if err != nil {
		return cfg, false, false, err
	}
	if len(rest) > 0 {
		return cfg, false, false, usagef("unexpected argument %q", rest[0])
	}
	cfg.Store = c.store
	if *policyFile != "" {
		if cfg.Policy, err = loadPolicy(*policyFile); err != nil {
			return cfg, false, false, err
		}
	}
	if err := cfg.Check(); err != nil {
		return cfg, false, false, &usageError{msg: err.Error()}
	}
	return cfg, *printCfg, create, nil
}

// isFlagIn reports whether args give the flag name.
func isFlagIn(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// serveUpstreams checks the configured upstreams.
func serveUpstreams(ucs []server.UpConfig) ([]server.Upstream, error) {
	var ups []server.Upstream
	for _, uc := range ucs {
		u, err := parseUpstream(uc.URL)
		if err != nil {
			return nil, fmt.Errorf("upstream %s: %w", uc.Name, err)
		}
		up := server.Upstream{Name: uc.Name, URL: u, Input: llm.LastUserMessage}
		if uc.Input == "all" {
			up.Input = llm.WholeConversation
		}
		if uc.Prices != "" {
			if up.Prices, err = llm.LoadPrices(uc.Prices); err != nil {
				return nil, fmt.Errorf("upstream %s: %w", uc.Name, err)
			}
		}
		ups = append(ups, up)
	}
	return ups, nil
}

// loopback reports whether addr (HOST:PORT) listens on loopback only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// newSlog returns the server's logger on stderr: text or JSON.
func newSlog(c *cli, format string) *slog.Logger {
	if format == "json" {
		return slog.New(slog.NewJSONHandler(c.stderr, nil))
	}
	return slog.New(slog.NewTextHandler(c.stderr, nil))
}

func promHandler(srv *server.Server) http.Handler {
	return server.MetricsHandler(srv.Registry())
}

type syncHookKey struct{}

// withSyncHook returns ctx carrying fn, which openStore sets as the sync
// hook of the store it opens with that context (filestore and s3store
// Options.OnSync).
func withSyncHook(ctx context.Context, fn func(time.Duration)) context.Context {
	return context.WithValue(ctx, syncHookKey{}, fn)
}

// syncHook returns the sync hook that ctx carries, or nil.
func syncHook(ctx context.Context) func(time.Duration) {
	fn, _ := ctx.Value(syncHookKey{}).(func(time.Duration))
	return fn
}

// serveListeners listens on the configured addresses (TLS on the main one
// with a certificate) and returns the servers to run on them, the main
// one first.
func serveListeners(cfg *server.Config, srv *server.Server, log *slog.Logger) ([]*http.Server, []net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, nil, withHint(fmt.Errorf("listen on %s: %w", cfg.Listen, err), "pass --listen HOST:PORT with a free port (or set COMPLY_LISTEN)")
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: time.Duration(cfg.Timeouts.ReadHeader),
		IdleTimeout:       time.Duration(cfg.Timeouts.Idle),
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("tls: %w", err)
		}
		hs.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, hs.TLSConfig)
	}
	servers := []*http.Server{hs}
	listeners := []net.Listener{ln}
	if cfg.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.MetricsListen)
		if err != nil {
			ln.Close()
			return nil, nil, fmt.Errorf("listen on %s (metrics): %w", cfg.MetricsListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", promHandler(srv))
		servers = append(servers, &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second})
		listeners = append(listeners, mln)
		log.Info("metrics", "listen", "http://"+mln.Addr().String()+"/metrics")
	}
	return servers, listeners, nil
}

// serveWriterSetup checks what the writers need: the Logger options
// (content, keyed hashes, retention), the upstreams, and the signing key
// (as loadSigner takes it) with its verifier.
func serveWriterSetup(cfg *server.Config, log *slog.Logger) (*comply.Options, []server.Upstream, string, []note.Verifier, error) {
	keyFile := cfg.KeyFile
	if cfg.KeySource != "" {
		keyFile = keySourceMark + cfg.KeySource
	}
	if cfg.SealTo != "" {
		keyFile = sealToMark + cfg.SealTo + "\x00"
		if cfg.SealSession > 0 {
			keyFile += time.Duration(cfg.SealSession).String()
		}
	}
	opts, err := writerOptions(cfg.StoreContent, keyFile, cfg.HashKeyFile)
	if err != nil {
		return nil, nil, "", nil, err
	}
	if cfg.IdentityFile != "" {
		if opts.Identity, err = seal.LoadIdentity(cfg.IdentityFile); err != nil {
			clear(opts.HashKey)
			return nil, nil, "", nil, err
		}
	}
	if err := (&proxyFlags{retentionDays: &cfg.RetentionDays, cleanupDaily: &cfg.CleanupDaily}).retention(opts); err != nil {
		clear(opts.HashKey)
		return nil, nil, "", nil, err
	}
	opts.ErrorLog = log
	if err := withPolicy(opts, cfg.Policy, cfg.KeyFile); err != nil {
		clear(opts.HashKey)
		return nil, nil, "", nil, err
	}
	upstreams, err := serveUpstreams(cfg.Upstreams)
	if err != nil {
		clear(opts.HashKey)
		return nil, nil, "", nil, err
	}
	signingKey := cfg.SigningKey
	if strings.HasPrefix(strings.TrimSpace(signingKey), "PRIVATE+KEY+") {
		signingKey = "" // the key itself, from COMPLY_SIGNING_KEY: loadSigner reads it there
	}
	var verifiers []note.Verifier
	if signer, err := loadSigner(signingKey); err != nil {
		clear(opts.HashKey)
		return nil, nil, "", nil, err
	} else if signer != nil {
		verifiers = append(verifiers, signer.Verifier())
	}
	return opts, upstreams, signingKey, verifiers, nil
}
