package console_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/server/console"
	"github.com/complyhq/comply/server/console/consoletest"
)

// browser is an HTTP client with cookies, as a browser signed in or not.
type browser struct {
	t    *testing.T
	env  *consoletest.Env
	c    *http.Client
	csrf string
}

func newBrowser(t *testing.T, env *consoletest.Env) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, env: env, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.env.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp, string(out)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// signIn signs in with secret and returns the status of POST /signin.
func (b *browser) signIn(secret string) int {
	b.t.Helper()
	_, page := b.do("GET", "/signin", nil)
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		b.t.Fatalf("no csrf field in the sign-in page")
	}
	resp, _ := b.do("POST", "/signin", url.Values{"csrf": {m[1]}, "token": {secret}, "next": {"/dashboard"}})
	if resp.StatusCode == http.StatusSeeOther {
		_, page := b.do("GET", "/entries", nil)
		if m := regexp.MustCompile(`data-csrf="([^"]*)"`).FindStringSubmatch(page); m != nil {
			b.csrf = m[1]
		}
	}
	return resp.StatusCode
}

func TestSignIn(t *testing.T) {
	env := consoletest.Start(t, consoletest.Options{Entries: 20})
	for _, tc := range []struct {
		name, secret string
		want         int
	}{
		{"read", consoletest.ReadSecret, http.StatusSeeOther},
		{"admin", consoletest.AdminSecret, http.StatusSeeOther},
		{"ingest refused", consoletest.IngestSecret, http.StatusForbidden},
		{"unknown", "cmp_nope", http.StatusUnauthorized},
		{"empty", "", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, env)
			if got := b.signIn(tc.secret); got != tc.want {
				t.Fatalf("POST /signin: %d, want %d", got, tc.want)
			}
			resp, _ := b.do("GET", "/entries", nil)
			signedIn := tc.want == http.StatusSeeOther
			if signedIn != (resp.StatusCode == http.StatusOK) {
				t.Errorf("GET /entries after sign-in: %d (signed in: %v)", resp.StatusCode, signedIn)
			}
		})
	}
}

func TestSignInNeedsItsCSRFToken(t *testing.T) {
	env := consoletest.Start(t, consoletest.Options{Entries: 1})
	b := newBrowser(t, env)
	b.do("GET", "/signin", nil)
	resp, _ := b.do("POST", "/signin", url.Values{"csrf": {"forged"}, "token": {consoletest.AdminSecret}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("sign-in with a wrong csrf: %d, want 403", resp.StatusCode)
	}
}

func TestCookieSession(t *testing.T) {
	env := consoletest.Start(t, consoletest.Options{Entries: 20})
	id := env.IDs[len(env.IDs)-1]
	dec := newBrowser(t, env)
	if dec.signIn(consoletest.DecryptSecret) != http.StatusSeeOther {
		t.Fatal("sign-in failed")
	}
	rd := newBrowser(t, env)
	rd.signIn(consoletest.ReadSecret)
	anon := newBrowser(t, env)
	for _, tc := range []struct {
		name   string
		b      *browser
		method string
		path   string
		hdr    []string
		want   int
	}{
		{"read by cookie", dec, "GET", "/v1/entries?limit=5", nil, 200},
		{"no cookie", anon, "GET", "/v1/entries", nil, 401},
		{"decrypt without csrf", dec, "POST", "/v1/entries/" + id + "/decrypt?reason=case-1", nil, 403},
		{"decrypt with a wrong csrf", dec, "POST", "/v1/entries/" + id + "/decrypt?reason=case-1", []string{"X-CSRF-Token", "x"}, 403},
		{"decrypt from another origin", dec, "POST", "/v1/entries/" + id + "/decrypt?reason=case-1", []string{"X-CSRF-Token", dec.csrf, "Origin", "https://evil.example"}, 403},
		{"decrypt", dec, "POST", "/v1/entries/" + id + "/decrypt?reason=case-1", []string{"X-CSRF-Token", dec.csrf}, 200},
		{"decrypt as read", rd, "POST", "/v1/entries/" + id + "/decrypt?reason=case-2", []string{"X-CSRF-Token", rd.csrf}, 403},
		{"access log as read", rd, "GET", "/v1/access", nil, 403},
		{"access page as read", rd, "GET", "/access", nil, 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := tc.b.do(tc.method, tc.path, nil, tc.hdr...)
			if resp.StatusCode != tc.want {
				t.Fatalf("%s %s: %d %s, want %d", tc.method, tc.path, resp.StatusCode, body, tc.want)
			}
			if tc.name == "decrypt" && !strings.Contains(body, "question 19") {
				t.Errorf("decrypt: %s, want the input", body)
			}
		})
	}
	var found bool
	for r, err := range env.Access.Records(t.Context(), accesslog.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Route == "POST /v1/entries/{id}/decrypt" && r.Status == 200 {
			found = r.Token == "decrypter" && r.Filters["reason"] == "case-1" && len(r.IDs) == 1 && r.IDs[0] == id
		}
	}
	if !found {
		t.Error("the decrypt and its reason are not in the access log")
	}

	// Sign-out ends the session; a revoked token ends its sessions.
	if resp, _ := dec.do("POST", "/signout", url.Values{"csrf": {dec.csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("sign-out: %d", resp.StatusCode)
	}
	if resp, _ := dec.do("GET", "/v1/entries", nil); resp.StatusCode != 401 {
		t.Errorf("read after sign-out: %d, want 401", resp.StatusCode)
	}
	delete(env.Tokens, consoletest.ReadSecret)
	if resp, _ := rd.do("GET", "/v1/entries", nil); resp.StatusCode != 401 {
		t.Errorf("read after revocation: %d, want 401", resp.StatusCode)
	}
}

func TestPagesHeaders(t *testing.T) {
	env := consoletest.Start(t, consoletest.Options{Entries: 5})
	b := newBrowser(t, env)
	if resp, _ := b.do("GET", "/entries?model=gpt-4o", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin?next=/entries%3Fmodel%3Dgpt-4o" {
		t.Errorf("signed out: %d %s, want a redirect to /signin", resp.StatusCode, resp.Header.Get("Location"))
	}
	b.signIn(consoletest.AdminSecret)
	for _, p := range []string{"/entries", "/entries/" + env.IDs[0], "/conversations/conv-alpha", "/dashboard", "/integrity", "/reports", "/access", "/signin?next=/x"} {
		resp, body := b.do("GET", p, nil)
		if p == "/signin?next=/x" {
			if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/x" {
				t.Errorf("signin when signed in: %d %s", resp.StatusCode, resp.Header.Get("Location"))
			}
			continue
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != console.CSP {
			t.Errorf("GET %s: %d, CSP %q", p, resp.StatusCode, resp.Header.Get("Content-Security-Policy"))
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, "style=") || strings.Contains(body, " on") && regexp.MustCompile(` on[a-z]+=`).MatchString(body) {
			t.Errorf("GET %s: inline script or style", p)
		}
	}
	for _, tc := range []struct{ path, cache string }{
		{"/static/app.js", "no-cache"},
		{"/static/nope.js", ""},
	} {
		resp, _ := b.do("GET", tc.path, nil)
		if tc.cache == "" {
			if resp.StatusCode != 404 {
				t.Errorf("GET %s: %d, want 404", tc.path, resp.StatusCode)
			}
			continue
		}
		if resp.Header.Get("Cache-Control") != tc.cache || resp.Header.Get("ETag") == "" {
			t.Errorf("GET %s: Cache-Control %q", tc.path, resp.Header.Get("Cache-Control"))
		}
	}
	_, page := b.do("GET", "/entries", nil)
	src := regexp.MustCompile(`src="(/static/app\.js\?v=[0-9a-f]+)"`).FindStringSubmatch(page)
	if src == nil {
		t.Fatal("no app.js in the page")
	}
	if resp, _ := b.do("GET", src[1], nil); !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s: Cache-Control %q, want immutable", src[1], resp.Header.Get("Cache-Control"))
	}
}

// TestPageWeight: a page and everything it loads, gzipped, under 150 KB.
func TestPageWeight(t *testing.T) {
	env := consoletest.Start(t, consoletest.Options{Entries: 1})
	b := newBrowser(t, env)
	b.signIn(consoletest.AdminSecret)
	_, page := b.do("GET", "/dashboard", nil)
	total := gz(page)
	refs := regexp.MustCompile(`(?:src|href)="(/static/[^"]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("the page loads %d static files", len(refs))
	}
	for _, m := range refs {
		_, body := b.do("GET", m[1], nil)
		total += gz(body)
	}
	t.Logf("dashboard: %d files, %d bytes gzipped", len(refs)+1, total)
	if total > 150<<10 {
		t.Errorf("page weight %d bytes gzipped, want < 150 KB", total)
	}
}

func gz(s string) int {
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	w.Write([]byte(s))
	w.Close()
	return buf.Len()
}

func TestExport(t *testing.T) {
	env := consoletest.Start(t, consoletest.Options{Entries: 40})
	b := newBrowser(t, env)
	b.signIn(consoletest.ReadSecret)
	for _, tc := range []struct {
		format string
		want   int // lines
		ctype  string
	}{
		{"ndjson", 10, "application/x-ndjson"},
		{"csv", 11, "text/csv; charset=utf-8"},
	} {
		resp, body := b.do("GET", "/export?format="+tc.format+"&model=gpt-4o", nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("export %s: %d %s %q", tc.format, resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		if n := strings.Count(body, "\n"); n != tc.want {
			t.Errorf("export %s: %d lines, want %d", tc.format, n, tc.want)
		}
	}
	if resp, body := b.do("GET", "/export?format=csv&bogus=1", nil); resp.StatusCode != 400 || !strings.Contains(body, "unknown parameter") {
		t.Errorf("export with a bad filter: %d %s", resp.StatusCode, body)
	}
	var streams int
	for r, err := range env.Access.Records(t.Context(), accesslog.Query{Token: "reader"}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Route == "GET /v1/entries" && r.Count == 10 && r.Filters["model"] == "gpt-4o" {
			streams++
		}
	}
	if streams != 2 {
		t.Errorf("%d exports in the access log, want 2", streams)
	}
	anon := newBrowser(t, env)
	if resp, _ := anon.do("GET", "/export?format=csv", nil); resp.StatusCode != 401 {
		t.Errorf("export signed out: %d, want 401", resp.StatusCode)
	}
}

func TestDecryptReasonTooLong(t *testing.T) {
	env := consoletest.Start(t, consoletest.Options{Entries: 1})
	b := newBrowser(t, env)
	b.signIn(consoletest.AdminSecret)
	resp, body := b.do("POST", "/v1/entries/"+env.IDs[0]+"/decrypt?reason="+strings.Repeat("x", 1001), nil, "X-CSRF-Token", b.csrf)
	var e struct{ Error string }
	json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != 400 || !strings.Contains(e.Error, "reason") {
		t.Errorf("a 1001-byte reason: %d %s", resp.StatusCode, body)
	}
}

// TestReportsPage: the Reports page is for every reading role, linked
// from the nav; the report it downloads is a read of the API, recorded in
// the access log with its filters.
func TestReportsPage(t *testing.T) {
	env := consoletest.Start(t, consoletest.Options{Entries: 5})
	for _, secret := range []string{consoletest.ReadSecret, consoletest.DecryptSecret, consoletest.AdminSecret} {
		b := newBrowser(t, env)
		b.signIn(secret)
		resp, body := b.do("GET", "/reports", nil)
		if resp.StatusCode != 200 || !strings.Contains(body, `data-page="reports"`) || !strings.Contains(body, `<a href="/reports" aria-current="page">Reports</a>`) {
			t.Errorf("%s: GET /reports: %d", secret[:8], resp.StatusCode)
		}
	}
	b := newBrowser(t, env)
	b.signIn(consoletest.ReadSecret)
	for _, tc := range []struct{ format, ctype, want string }{
		{"json", "application/json", `"controls"`},
		{"md", "text/markdown; charset=utf-8", "soc2"},
		{"html", "text/html; charset=utf-8", "<style>"},
	} {
		resp, body := b.do("GET", "/v1/reports?framework=soc2&period=2026-11&format="+tc.format, nil)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != tc.ctype || !strings.Contains(body, tc.want) {
			t.Errorf("report %s: %d %s", tc.format, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if csp := resp.Header.Get("Content-Security-Policy"); strings.Contains(csp, "script-src") || !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("report %s: CSP %q", tc.format, csp)
		}
	}
	formats := map[string]bool{}
	for r, err := range env.Access.Records(t.Context(), accesslog.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		if r.Route == "GET /v1/reports" && r.Token == "reader" && r.Filters["framework"] == "soc2" {
			formats[r.Filters["format"]] = true
		}
	}
	if len(formats) != 3 {
		t.Errorf("reports in the access log: %v, want json, md and html", formats)
	}
}
