package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/server"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/server/auth"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/memstore"
)

// tokens is an in-test Authenticator: secret → token.
type tokens map[string]auth.Token

func (m tokens) Authenticate(_ context.Context, secret string) (auth.Token, error) {
	if t, ok := m[secret]; ok {
		return t, nil
	}
	return auth.Token{}, auth.ErrUnknownToken
}

var testTokens = tokens{
	"ingest-secret":  {Name: "ing", Role: auth.Ingest},
	"read-secret":    {Name: "rd", Role: auth.Read},
	"decrypt-secret": {Name: "dec", Role: auth.Decrypt},
	"admin-secret":   {Name: "adm", Role: auth.Admin},
}

// recorder is an in-test access log; fail makes Record fail.
type recorder struct {
	mu   sync.Mutex
	recs []accesslog.Record
	fail atomic.Bool
}

func (r *recorder) Record(_ context.Context, rec accesslog.Record) error {
	if r.fail.Load() {
		return errors.New("access store down")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec)
	return nil
}

func (r *recorder) all() []accesslog.Record {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]accesslog.Record(nil), r.recs...)
}

func (r *recorder) read(_ context.Context, q accesslog.Query) iter.Seq2[accesslog.Record, error] {
	return func(yield func(accesslog.Record, error) bool) {
		for _, rec := range r.all() {
			if q.Token != "" && rec.Token != q.Token || q.DeniedOnly && !rec.Denied {
				continue
			}
			if !yield(rec, nil) {
				return
			}
		}
	}
}

// failingStore is a memory store whose appends fail while fail is set.
type failingStore struct {
	*memstore.Store
	fail atomic.Bool
}

func (s *failingStore) Append(ctx context.Context, recs ...store.Record) error {
	if s.fail.Load() {
		return errors.New("disk full")
	}
	return s.Store.Append(ctx, recs...)
}

// env is a running server over a memory store.
type env struct {
	t      *testing.T
	l      *comply.Logger
	srv    *server.Server
	ts     *httptest.Server
	access *recorder
	signer *ledger.Signer
	st     *failingStore
}

type envOpts struct {
	signed, content bool
	hashKey         bool // the Logger's content hashes are keyed
	retention       int  // the Logger's RetentionDays
	opts            func(*server.Options)
	logger          func(*comply.Options) // adjusts the Logger's options
}

func newEnv(t *testing.T, eo envOpts) *env {
	t.Helper()
	e := &env{t: t, access: &recorder{}, st: &failingStore{Store: memstore.New(0)}}
	lopts := comply.Options{RetentionDays: eo.retention}
	if eo.hashKey {
		lopts.HashKey = []byte("0123456789abcdef0123456789abcdef")
	}
	if eo.content {
		k, err := seal.GenerateKey()
		if err != nil {
			t.Fatal(err)
		}
		lopts.Keyring, lopts.StoreContent = seal.NewKeyring(k), true
	}
	if eo.logger != nil {
		eo.logger(&lopts)
	}
	var err error
	if eo.signed {
		skey, _, err := ledger.GenerateKey("test")
		if err != nil {
			t.Fatal(err)
		}
		if e.signer, err = ledger.NewSigner(skey); err != nil {
			t.Fatal(err)
		}
		e.l, err = comply.NewWithIntegrity(t.Context(), e.st.Store, &lopts, &comply.IntegrityOptions{Signer: e.signer})
	} else {
		e.l, err = comply.New(e.st, &lopts)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.l.Close() })
	o := server.Options{Logger: e.l, Auth: testTokens, Access: e.access, AccessLog: e.access.read, Log: slog.New(slog.DiscardHandler)}
	if e.signer != nil {
		o.Verifiers = append(o.Verifiers, e.signer.Verifier())
	}
	if eo.opts != nil {
		eo.opts(&o)
	}
	if e.srv, err = server.New(o); err != nil {
		t.Fatal(err)
	}
	e.ts = httptest.NewServer(e.srv.Handler())
	t.Cleanup(e.ts.Close)
	return e
}

// do sends a request and returns the status and body.
func (e *env) do(method, path, token string, body string, hdr ...string) (int, []byte, http.Header) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.ts.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.ts.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, b, resp.Header
}

// post logs a JSON array of interactions and returns the ids.
func (e *env) post(items ...string) []string {
	e.t.Helper()
	status, b, _ := e.do("POST", "/v1/entries", "ingest-secret", "["+strings.Join(items, ",")+"]", "Content-Type", "application/json")
	if status != http.StatusOK {
		e.t.Fatalf("POST /v1/entries: %d %s", status, b)
	}
	var r struct{ IDs []string }
	if err := json.Unmarshal(b, &r); err != nil {
		e.t.Fatal(err)
	}
	return r.IDs
}

func (e *env) count() int64 {
	e.t.Helper()
	n, err := e.l.Count(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func jsonField(t *testing.T, b []byte, key string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("not a JSON object: %s", b)
	}
	return m[key]
}

func lines(b []byte) [][]byte {
	var out [][]byte
	for ln := range bytes.Lines(b) {
		out = append(out, bytes.TrimSuffix(ln, []byte("\n")))
	}
	return out
}

func httptestServer(t *testing.T, srv *server.Server) *httptest.Server {
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	return ts
}
