package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/complyhq/comply/server"
	"github.com/complyhq/comply/server/auth"
)

// The cookies of the console.
const (
	sessionCookie = "comply_session" // the session id
	preCookie     = "comply_signin"  // the sign-in form's CSRF token (double submit)
	csrfHeader    = "X-CSRF-Token"
	csrfField     = "csrf"
)

// A session is one signed-in browser. The token's secret is kept here, in
// the server's memory only, so that every request re-authenticates it: a
// revoked token ends its sessions within a second.
type session struct {
	secret  string
	csrf    string
	expires time.Time
}

// sessions is the server-side session table, keyed by the SHA-256 of the
// cookie's value: the table holds no value a browser could present.
type sessions struct {
	mu  sync.Mutex
	m   map[[sha256.Size]byte]*session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[[sha256.Size]byte]*session{}, ttl: ttl, now: now}
}

// randomToken returns 32 random bytes in unpadded base64url.
func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for secret and returns its cookie value.
func (ss *sessions) create(secret string) (id string, s *session) {
	id = randomToken()
	s = &session{secret: secret, csrf: randomToken(), expires: ss.now().Add(ss.ttl)}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	for k, old := range ss.m { // prune: the table stays as small as the live sessions
		if now.After(old.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[sha256.Sum256([]byte(id))] = s
	return id, s
}

// get returns the live session of the request's cookie, or nil.
func (ss *sessions) get(r *http.Request) (*session, bool) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil, false
	}
	k := sha256.Sum256([]byte(ck.Value))
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[k]
	if s != nil && ss.now().After(s.expires) {
		delete(ss.m, k)
		s = nil
	}
	return s, true
}

// end removes the request's session.
func (ss *sessions) end(r *http.Request) {
	if ck, err := r.Cookie(sessionCookie); err == nil {
		ss.mu.Lock()
		delete(ss.m, sha256.Sum256([]byte(ck.Value)))
		ss.mu.Unlock()
	}
}

// SessionToken implements server.Sessions: the token of the request's
// session cookie, re-authenticated, with the CSRF check on requests that
// change state.
func (c *Console) SessionToken(r *http.Request) (auth.Token, bool, error) {
	s, found := c.sessions.get(r)
	if !found {
		return auth.Token{}, false, nil
	}
	if s == nil {
		return auth.Token{}, true, fmt.Errorf("console session: %w", auth.ErrUnknownToken)
	}
	if !safeMethod(r.Method) {
		if err := checkCSRF(r, s.csrf, r.Header.Get(csrfHeader)); err != nil {
			return auth.Token{}, true, err
		}
	}
	tok, err := c.authenticate(r, s.secret)
	return tok, true, err
}

func (c *Console) authenticate(r *http.Request, secret string) (auth.Token, error) {
	if c.opts.InsecureNoAuth {
		return auth.Token{Name: server.InsecureTokenName, Role: auth.Admin}, nil
	}
	return c.opts.Auth.Authenticate(r.Context(), secret)
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// checkCSRF checks a request that changes state: its Origin, when the
// browser sends one, must be the server's own, and the token given must
// equal want.
func checkCSRF(r *http.Request, want, given string) error {
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return fmt.Errorf("origin %q: %w", o, server.ErrCSRF)
		}
	}
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return fmt.Errorf("cross-site request: %w", server.ErrCSRF)
	}
	if want == "" || subtle.ConstantTimeCompare([]byte(want), []byte(given)) != 1 {
		return server.ErrCSRF
	}
	return nil
}

// setCookie sets a console cookie: HttpOnly, SameSite=Strict, Secure
// when the request came over TLS; maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
	})
}
