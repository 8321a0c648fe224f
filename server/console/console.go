package console

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/complyhq/comply/server/auth"
)

// DefaultSessionTTL is how long a session lasts after sign-in.
const DefaultSessionTTL = 12 * time.Hour

// CSP is the Content-Security-Policy of every console page: nothing from
// another origin, no inline script or style, no frames.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

//go:embed static templates
var files embed.FS

// Options configure a Console. Auth is required unless InsecureNoAuth.
type Options struct {
	// Auth checks the token a user signs in with, and again on every
	// request of the session.
	Auth auth.Authenticator
	// InsecureNoAuth: the server runs without tokens (loopback only);
	// every browser is an admin, without signing in.
	InsecureNoAuth bool
	// SessionTTL is the life of a session; zero means DefaultSessionTTL.
	SessionTTL time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// A Console is the web console: its pages, static files and sessions.
// Mount it as server.Options.Console, with itself as
// server.Options.Sessions, then give it the server's handler (SetAPI)
// for the exports.
type Console struct {
	opts     Options
	sessions *sessions
	tmpl     *template.Template
	static   map[string]asset
	api      atomic.Pointer[http.Handler]
	mux      *http.ServeMux
}

// An asset is an embedded static file.
type asset struct {
	body  []byte
	ctype string
	hash  string // the first 12 hex digits of its SHA-256: the ?v= of its URL
}

// New returns a Console.
func New(opts Options) (*Console, error) {
	if opts.Auth == nil && !opts.InsecureNoAuth {
		return nil, errors.New("console: no Auth")
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	c := &Console{opts: opts, sessions: newSessions(opts.SessionTTL, opts.Now), static: map[string]asset{}, mux: http.NewServeMux()}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".md") {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		if strings.HasSuffix(p, ".LICENSE") {
			ct = "text/plain; charset=utf-8"
		}
		c.static[strings.TrimPrefix(p, "static/")] = asset{body: b, ctype: ct, hash: hex.EncodeToString(sum[:6])}
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.tmpl, err = template.New("").Funcs(template.FuncMap{"asset": c.assetURL}).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	c.routes()
	return c, nil
}

// SetAPI gives the Console the server's handler, through which it
// streams the exports (so that each is authorized and recorded in the
// access log as any read of the API).
func (c *Console) SetAPI(h http.Handler) { c.api.Store(&h) }

// Handler returns the console's handler: mount it at "/".
func (c *Console) Handler() http.Handler { return c }

// ServeHTTP serves the console, with its security headers.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin") // not no-referrer: Chromium then sends "Origin: null" on a form POST
	c.mux.ServeHTTP(w, r)
}

// The pages: path pattern, template page name, whether it needs admin.
var pages = []struct {
	pattern, page, title string
	admin                bool
}{
	{"GET /entries", "entries", "Entries", false},
	{"GET /entries/{id}", "entry", "Entry", false},
	{"GET /conversations/{id}", "conversation", "Conversation", false},
	{"GET /dashboard", "dashboard", "Dashboard", false},
	{"GET /integrity", "integrity", "Integrity", false},
	{"GET /reports", "reports", "Reports", false},
	{"GET /access", "access", "Access", true},
}

func (c *Console) routes() {
	c.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/entries", http.StatusSeeOther)
	})
	c.mux.HandleFunc("GET /signin", c.signinPage)
	c.mux.HandleFunc("POST /signin", c.signin)
	c.mux.HandleFunc("POST /signout", c.signout)
	c.mux.HandleFunc("GET /static/{file...}", c.serveStatic)
	c.mux.HandleFunc("GET /export", c.export)
	for _, p := range pages {
		c.mux.HandleFunc(p.pattern, func(w http.ResponseWriter, r *http.Request) { c.page(w, r, p.page, p.title, p.admin) })
	}
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, http.StatusNotFound, "error.html", map[string]any{"Title": "Not found", "Message": "There is no page " + r.URL.Path + "."})
	})
}

func (c *Console) assetURL(name string) string {
	return "/static/" + name + "?v=" + c.static[name].hash
}

// serveStatic serves an embedded file: cached for a year when asked for
// by its current hash (the URLs the pages use), otherwise revalidated.
func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := c.static[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := `"` + a.hash + `"`
	if r.URL.Query().Get("v") == a.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", etag)
	w.Header().Set("Content-Type", a.ctype)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(a.body)))
	w.Write(a.body)
}

// who returns the signed-in token and its session (nil without tokens),
// or ok false when the browser must sign in.
func (c *Console) who(r *http.Request) (tok auth.Token, s *session, ok bool) {
	if c.opts.InsecureNoAuth {
		tok, _ = c.authenticate(r, "")
		return tok, nil, true
	}
	s, _ = c.sessions.get(r)
	if s == nil {
		return auth.Token{}, nil, false
	}
	tok, err := c.authenticate(r, s.secret)
	if err != nil {
		c.sessions.end(r)
		return auth.Token{}, nil, false
	}
	return tok, s, true
}

// nav is one item of the navigation bar.
type nav struct {
	Href, Label string
	Current     bool
}

// page renders the shell of a page; its script fills it from the API.
func (c *Console) page(w http.ResponseWriter, r *http.Request, name, title string, admin bool) {
	tok, s, ok := c.who(r)
	if !ok {
		http.Redirect(w, r, "/signin?next="+urlEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return
	}
	if !tok.Role.Allows(auth.Read) {
		c.render(w, http.StatusForbidden, "error.html", map[string]any{"Title": "Not allowed",
			"Message": "The token " + tok.Name + " has the role " + string(tok.Role) + "; the console needs read, decrypt or admin."})
		return
	}
	if admin && tok.Role != auth.Admin {
		c.render(w, http.StatusForbidden, "error.html", map[string]any{"Title": "Admins only",
			"Message": "The access log is for admin tokens; " + tok.Name + " has the role " + string(tok.Role) + ".", "Token": tok, "Nav": c.nav(tok, ""), "SignedIn": s != nil, "CSRF": csrfOf(s)})
		return
	}
	c.render(w, http.StatusOK, "shell.html", map[string]any{
		"Title": title, "Page": name, "Token": tok, "CSRF": csrfOf(s), "SignedIn": s != nil,
		"Nav": c.nav(tok, name), "Decrypt": tok.Role.Allows(auth.Decrypt), "Admin": tok.Role == auth.Admin,
	})
}

func csrfOf(s *session) string {
	if s == nil {
		return ""
	}
	return s.csrf
}

func (c *Console) nav(tok auth.Token, current string) []nav {
	n := []nav{{"/entries", "Entries", current == "entries" || current == "entry" || current == "conversation"},
		{"/dashboard", "Dashboard", current == "dashboard"}, {"/integrity", "Integrity", current == "integrity"},
		{"/reports", "Reports", current == "reports"}}
	if tok.Role == auth.Admin {
		n = append(n, nav{"/access", "Access", current == "access"})
	}
	return n
}

func (c *Console) render(w http.ResponseWriter, status int, name string, data map[string]any) {
	var buf bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (c *Console) signinPage(w http.ResponseWriter, r *http.Request) {
	if _, _, ok := c.who(r); ok {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	c.signinForm(w, r, http.StatusOK, "")
}

func (c *Console) signinForm(w http.ResponseWriter, r *http.Request, status int, msg string) {
	pre := randomToken()
	setCookie(w, r, preCookie, pre, 600)
	c.render(w, status, "signin.html", map[string]any{"Title": "Sign in", "CSRF": pre, "Next": safeNext(r.FormValue("next")), "Error": msg})
}

// signin is POST /signin: the token's secret for a session cookie. The
// form's CSRF token must equal the sign-in cookie's (double submit).
func (c *Console) signin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		c.signinForm(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	pre, _ := r.Cookie(preCookie)
	want := ""
	if pre != nil {
		want = pre.Value
	}
	if err := checkCSRF(r, want, r.PostForm.Get(csrfField)); err != nil {
		c.signinForm(w, r, http.StatusForbidden, "The form expired: sign in again.")
		return
	}
	secret := strings.TrimSpace(r.PostForm.Get("token"))
	if c.opts.InsecureNoAuth {
		http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
		return
	}
	tok, err := c.opts.Auth.Authenticate(r.Context(), secret)
	switch {
	case secret == "" || errors.Is(err, auth.ErrUnknownToken):
		c.signinForm(w, r, http.StatusUnauthorized, "Unknown or revoked token.")
		return
	case err != nil:
		c.signinForm(w, r, http.StatusServiceUnavailable, "The tokens cannot be read right now; try again.")
		return
	case !tok.Role.Allows(auth.Read):
		c.signinForm(w, r, http.StatusForbidden, "The token "+tok.Name+" has the role "+string(tok.Role)+"; the console needs read, decrypt or admin.")
		return
	}
	id, _ := c.sessions.create(secret)
	setCookie(w, r, preCookie, "", -1)
	setCookie(w, r, sessionCookie, id, int(c.opts.SessionTTL/time.Second))
	http.Redirect(w, r, safeNext(r.PostForm.Get("next")), http.StatusSeeOther)
}

// signout is POST /signout, with the session's CSRF token.
func (c *Console) signout(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	r.ParseForm()
	if s, _ := c.sessions.get(r); s != nil {
		if err := checkCSRF(r, s.csrf, r.PostForm.Get(csrfField)); err != nil {
			http.Error(w, "missing or wrong CSRF token: reload the page", http.StatusForbidden)
			return
		}
	}
	c.sessions.end(r)
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// safeNext returns next if it is a path of this site, else /entries.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/signin") {
		return "/entries"
	}
	return next
}

func urlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-_./", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{ch})))
		}
	}
	return b.String()
}

// export is GET /export?format=ndjson|csv&FILTERS: the current view of
// the entries page as a download. It is GET /v1/entries streamed as
// NDJSON through the API (authorized and recorded in the access log as
// that route), converted to CSV if asked.
func (c *Console) export(w http.ResponseWriter, r *http.Request) {
	hp := c.api.Load()
	if hp == nil {
		http.Error(w, "export is not available", http.StatusNotFound)
		return
	}
	q := r.URL.Query()
	format := q.Get("format")
	if format != "ndjson" && format != "csv" {
		http.Error(w, "format: want ndjson or csv", http.StatusBadRequest)
		return
	}
	q.Del("format")
	q.Del("cursor")
	q.Del("limit")
	r2 := r.Clone(r.Context())
	r2.URL.Path, r2.URL.RawQuery, r2.RequestURI = "/v1/entries", q.Encode(), ""
	r2.Header.Set("Accept", "application/x-ndjson")
	name := "comply-entries-" + c.opts.Now().UTC().Format("20060102T150405Z") + "." + format
	if format == "ndjson" {
		(*hp).ServeHTTP(&exportWriter{ResponseWriter: w, name: name}, r2)
		return
	}
	pr, pw := io.Pipe()
	cw := &csvWriter{header: http.Header{}, pw: pw}
	done := make(chan struct{})
	go func() {
		defer close(done)
		(*hp).ServeHTTP(cw, r2)
		pw.Close()
	}()
	status := <-cw.started()
	if status != http.StatusOK {
		b, _ := io.ReadAll(pr)
		<-done
		w.Header().Set("Content-Type", cw.header.Get("Content-Type"))
		w.WriteHeader(status)
		w.Write(b)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "no-store")
	err := ndjsonToCSV(w, pr)
	if err != nil {
		pr.CloseWithError(err)
	}
	<-done
}

// exportWriter passes the API's answer through, as an attachment when it
// succeeds.
type exportWriter struct {
	http.ResponseWriter
	name string
}

func (e *exportWriter) WriteHeader(status int) {
	if status == http.StatusOK {
		e.Header().Set("Content-Disposition", `attachment; filename="`+e.name+`"`)
	}
	e.ResponseWriter.WriteHeader(status)
}

func (e *exportWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// csvWriter takes the API's NDJSON answer into a pipe.
type csvWriter struct {
	header http.Header
	pw     *io.PipeWriter
	status chan int
	wrote  bool
}

func (c *csvWriter) started() chan int {
	if c.status == nil {
		c.status = make(chan int, 1)
	}
	return c.status
}

func (c *csvWriter) Header() http.Header { return c.header }
func (c *csvWriter) WriteHeader(status int) {
	if !c.wrote {
		c.wrote = true
		c.started() <- status
	}
}
func (c *csvWriter) Write(b []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	return c.pw.Write(b)
}

// csvColumns are the columns of a CSV export.
var csvColumns = []string{"id", "timestamp", "provider", "model", "conversation_id", "safety_passed",
	"detectors_triggered", "block_reason", "latency_ms", "input_tokens", "output_tokens", "input_hash", "output_hash", "metadata"}

// ndjsonToCSV converts entries, one JSON object a line, to CSV.
func ndjsonToCSV(w io.Writer, r io.Reader) error {
	cw := csv.NewWriter(w)
	cw.Write(csvColumns)
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 64<<20)
	row := make([]string, len(csvColumns))
	for sc.Scan() {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			return err
		}
		for i, col := range csvColumns {
			row[i] = cell(m[col])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return err
	}
	return sc.Err()
}

// cell is a JSON value as CSV text: strings unquoted, null empty, lists
// joined by ';', anything else as JSON.
func cell(v json.RawMessage) string {
	if len(v) == 0 || string(v) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(v, &s) == nil {
		return s
	}
	var list []string
	if json.Unmarshal(v, &list) == nil {
		return strings.Join(list, ";")
	}
	return string(v)
}
