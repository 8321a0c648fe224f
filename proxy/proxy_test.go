package proxy_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/proxy"
	"github.com/complyhq/comply/store"
)

// The shared helpers live in llmtest.
var (
	memLogger   = llmtest.MemLogger
	allEntries  = llmtest.Entries
	callError   = llmtest.Failure
	waitEntries = llmtest.WaitEntries
)

const apiKey = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"

// setup starts an upstream and a proxy in front of it, over the logger.
func setup(t *testing.T, upstream http.Handler, logger *comply.Logger, failOpen bool) (proxyURL string, tr *llm.Transport) {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	tr = &llm.Transport{Logger: logger, Base: proxy.UpstreamTransport(), FailOpen: failOpen, OnError: func(error) {}}
	p := httptest.NewServer(proxy.New(u, tr))
	t.Cleanup(p.Close)
	return p.URL, tr
}

// post sends body through the proxy with a plain client and reads all.
func post(t *testing.T, base, path, body string) (*http.Response, []byte, error) {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

var rawCases = []struct{ name, path, body string }{
	{"chat", "/v1/chat/completions", `{"model":"gpt-4.1","messages":[{"role":"user","content":"Hello!"}]}`},
	{"chat/stream", "/v1/chat/completions", `{"model":"gpt-4.1","messages":[{"role":"user","content":"Hello!"}],"stream":true,"stream_options":{"include_usage":true}}`},
	{"responses", "/v1/responses", `{"model":"gpt-4.1","input":"Hello!"}`},
	{"responses/stream", "/v1/responses", `{"model":"gpt-4.1","input":"Hello!","stream":true}`},
	{"messages", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello!"}]}`},
	{"messages/stream", "/v1/messages", `{"model":"claude-sonnet-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hello!"}],"stream":true}`},
}

// TestRawBytes: a plain HTTP client gets through the proxy exactly the
// bytes and content type that the upstream sends directly.
func TestRawBytes(t *testing.T) {
	up := llmtest.NewServer()
	defer up.Close()
	logger := memLogger(t)
	u, _ := url.Parse(up.URL)
	tr := &llm.Transport{Logger: logger, Base: proxy.UpstreamTransport()}
	p := httptest.NewServer(proxy.New(u, tr))
	defer p.Close()
	for i, c := range rawCases {
		t.Run(c.name, func(t *testing.T) {
			dresp, want, err := post(t, up.URL, c.path, c.body)
			if err != nil {
				t.Fatal(err)
			}
			presp, got, err := post(t, p.URL, c.path, c.body)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) || presp.StatusCode != dresp.StatusCode ||
				presp.Header.Get("Content-Type") != dresp.Header.Get("Content-Type") {
				t.Errorf("through the proxy %d %s %q\ndirect %d %s %q", presp.StatusCode, presp.Header.Get("Content-Type"), got,
					dresp.StatusCode, dresp.Header.Get("Content-Type"), want)
			}
			es := waitEntries(t, logger, i+1)
			if e := es[len(es)-1]; !e.SafetyPassed || e.OutputHash != logger.Hash(llmtest.DefaultText) {
				t.Errorf("entry %q", e.BlockReason)
			}
		})
	}
}

// TestStreamingUnbuffered: each event reaches the client before the
// upstream sends the next.
func TestStreamingUnbuffered(t *testing.T) {
	next := make(chan struct{})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i, word := range []string{"One", " two", " three"} {
			fmt.Fprintf(w, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", word)
			w.(http.Flusher).Flush()
			if i < 2 {
				select {
				case <-next:
				case <-time.After(5 * time.Second):
					return
				}
			}
		}
		io.WriteString(w, "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
	})
	logger := memLogger(t)
	purl, _ := setup(t, upstream, logger, false)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, purl+"/v1/chat/completions",
		strings.NewReader(`{"model":"gpt-4.1","stream":true,"messages":[{"role":"user","content":"Count"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 4096)
	for _, want := range []string{"One", "two"} {
		n, err := resp.Body.Read(buf)
		if err != nil || !strings.Contains(string(buf[:n]), want) {
			t.Fatalf("read %q, %v; want the event with %q before the upstream sends more", buf[:n], err, want)
		}
		next <- struct{}{}
	}
	io.Copy(io.Discard, resp.Body)
	e := waitEntries(t, logger, 1)[0]
	if !e.SafetyPassed || e.OutputHash != logger.Hash("One two three") {
		t.Errorf("entry %q", e.BlockReason)
	}
}

// TestUpstreamDown: a clear 502, and an entry.
func TestUpstreamDown(t *testing.T) {
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	u, _ := url.Parse("http://" + addr)
	logger := memLogger(t)
	p := httptest.NewServer(proxy.New(u, &llm.Transport{Logger: logger}))
	defer p.Close()

	resp, body, err := post(t, p.URL, "/v1/chat/completions", rawCases[0].body)
	if err != nil {
		t.Fatal(err)
	}
	var e struct {
		Error struct{ Type, Message string } `json:"error"`
	}
	if resp.StatusCode != http.StatusBadGateway || json.Unmarshal(body, &e) != nil ||
		!strings.Contains(e.Error.Message, "upstream could not be reached") || !strings.Contains(e.Error.Message, "connection refused") {
		t.Errorf("got %d %s", resp.StatusCode, body)
	}
	entry := waitEntries(t, logger, 1)[0]
	if typ, msg := callError(t, entry); typ != llm.ErrorTransport || !strings.HasPrefix(msg, "upstream error: ") {
		t.Errorf("error %s %q", typ, msg)
	}
	// The SDKs' view: TestUpstreamDownSDK in integration/sdk/proxysdk.
}

// failStore is a store whose every Append fails.
type failStore struct{ store.Store }

func (failStore) Append(context.Context, ...store.Record) error { return errors.New("disk full") }
func (failStore) Scan(context.Context, store.Query) iter.Seq2[store.Record, error] {
	return func(func(store.Record, error) bool) {}
}
func (failStore) Close() error { return nil }

// TestWriteModes: fail-closed, the client never gets a complete response
// whose entry was not written; fail-open, it does; /healthz counts, and
// says degraded.
func TestWriteModes(t *testing.T) {
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("failOpen=%v", failOpen), func(t *testing.T) {
			logger, err := comply.New(failStore{}, nil)
			if err != nil {
				t.Fatal(err)
			}
			up := llmtest.NewServer()
			defer up.Close()
			u, _ := url.Parse(up.URL)
			var mu sync.Mutex
			var reported int
			tr := &llm.Transport{Logger: logger, Base: proxy.UpstreamTransport(), FailOpen: failOpen,
				OnError: func(error) { mu.Lock(); reported++; mu.Unlock() }}
			p := httptest.NewServer(proxy.New(u, tr))
			defer p.Close()
			for _, c := range rawCases {
				_, want, _ := post(t, up.URL, c.path, c.body)
				_, got, err := post(t, p.URL, c.path, c.body)
				if failOpen {
					if err != nil || !bytes.Equal(got, want) {
						t.Errorf("%s: fail-open call failed: %v", c.name, err)
					}
				} else if err == nil || bytes.Equal(got, want) {
					t.Errorf("%s: fail-closed call succeeded (%d of %d bytes, err %v)", c.name, len(got), len(want), err)
				}
			}
			// The SDKs' view: TestWriteModesSDK in integration/sdk/proxysdk.
			n := int64(len(rawCases))
			deadline := time.Now().Add(5 * time.Second)
			for tr.Stats().WriteFailed < n && time.Now().Before(deadline) {
				time.Sleep(5 * time.Millisecond)
			}
			resp, body, err := get(p.URL + proxy.HealthPath)
			if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("healthz after write failures: %v %v", resp, err)
			}
			var h map[string]any
			json.Unmarshal(body, &h)
			wantOpen := 0.0
			if failOpen {
				wantOpen = float64(n)
			}
			if h["status"] != "degraded" || h["audited"] != float64(n) || h["write_failed"] != float64(n) || h["failed_open"] != wantOpen {
				t.Errorf("healthz %s", body)
			}
			mu.Lock()
			if reported != int(n) {
				t.Errorf("OnError called %d times, want %d", reported, n)
			}
			mu.Unlock()
		})
	}
}

func get(u string) (*http.Response, []byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestClientDisconnects: a client that goes away mid-stream leaves one
// entry that says so.
func TestClientDisconnects(t *testing.T) {
	started := make(chan struct{})
	upstream := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"usage\":{\"input_tokens\":5,\"output_tokens\":1}}}\n\n")
		io.WriteString(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Once upon\"}}\n\n")
		w.(http.Flusher).Flush()
		close(started)
		<-r.Context().Done()
	})
	logger := memLogger(t)
	purl, _ := setup(t, upstream, logger, false)
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, purl+"/v1/messages",
		strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"Tell a story"}]}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	<-started
	buf := make([]byte, 4096)
	resp.Body.Read(buf)
	cancel()
	resp.Body.Close()
	e := waitEntries(t, logger, 1)[0]
	if typ, msg := callError(t, e); typ != llm.ErrorCanceled || !strings.HasPrefix(msg, "canceled by the client") || e.OutputHash != logger.Hash("Once upon") {
		t.Errorf("error %s %q", typ, msg)
	}
}

// TestBasePath: an upstream with a base path keeps it.
func TestBasePath(t *testing.T) {
	var got string
	var mu sync.Mutex
	h := &llmtest.Handler{Record: func(r llmtest.Request) { mu.Lock(); got = r.Path; mu.Unlock() }}
	up := httptest.NewServer(h)
	defer up.Close()
	u, _ := url.Parse(up.URL + "/openai")
	logger := memLogger(t)
	p := httptest.NewServer(proxy.New(u, &llm.Transport{Logger: logger}))
	defer p.Close()
	if resp, _, err := post(t, p.URL, "/v1/chat/completions", rawCases[0].body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if got != "/openai/v1/chat/completions" {
		t.Errorf("upstream path %q", got)
	}
	waitEntries(t, logger, 1)
}

// TestBadInput: what a direct call gives, the proxy gives, and the entry
// says what happened.
func TestBadInput(t *testing.T) {
	big := strings.Repeat("x", 20<<20)
	cases := []struct {
		name, path, body string
		upstream         http.HandlerFunc
		reason           string
	}{
		{"20 MB request", "/v1/chat/completions", `{"model":"gpt-4.1","messages":[{"role":"user","content":"` + big + `"}]}`,
			(&llmtest.Handler{}).ServeHTTP, ""},
		{"malformed upstream JSON", "/v1/chat/completions", rawCases[0].body,
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"choices":[{"message":{"content":"Hi`)
			}, "malformed response: invalid JSON: unexpected end of JSON input"},
		{"stream cut halfway", "/v1/messages", rawCases[5].body,
			func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/event-stream")
				io.WriteString(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hel\"}}\n\nevent: content_blo")
				w.(http.Flusher).Flush()
				conn, _, _ := http.NewResponseController(w).Hijack()
				conn.Close()
			}, "incomplete: response interrupted: unexpected EOF"},
		{"malformed client JSON", "/v1/responses", `{"model":`, (&llmtest.Handler{}).ServeHTTP,
			"http 400: We could not parse the JSON body of your request."},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			logger := memLogger(t)
			purl, _ := setup(t, c.upstream, logger, false)
			up := httptest.NewServer(c.upstream)
			defer up.Close()
			dresp, want, derr := post(t, up.URL, c.path, c.body)
			presp, got, perr := post(t, purl, c.path, c.body)
			if !bytes.Equal(got, want) || (derr == nil) != (perr == nil) || (dresp == nil) != (presp == nil) ||
				(dresp != nil && dresp.StatusCode != presp.StatusCode) {
				t.Errorf("through the proxy: %d bytes, %v; direct: %d bytes, %v", len(got), perr, len(want), derr)
			}
			e := waitEntries(t, logger, 1)[0]
			if _, msg := callError(t, e); msg != c.reason {
				t.Errorf("error %q, want %q", msg, c.reason)
			}
			if c.name == "20 MB request" && e.InputHash != logger.Hash(big) {
				t.Errorf("the 20 MB input was not recorded")
			}
		})
	}
}
