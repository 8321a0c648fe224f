package policy_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/otlp/otlptest"
	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/proxy"
	"github.com/complyhq/comply/store/memstore"
)

// The front ends (llm.Transport, the proxy, the OTLP handler) apply the
// Logger's policy because they all log through Logger.Log or LogBatch,
// each naming its route.

// frontendPolicy keeps metadata only for the Go transport, counts the
// proxy's calls to upstream "openai" without entries, and requires user_id
// of OTLP spans.
const frontendPolicy = `
rules:
  - {name: go, match: {route: transport}, level: metadata}
  - {name: proxied, match: {route: "proxy/*"}, level: none}
  - {name: traces, match: {route: otlp}, require: [user_id], missing: reject}
`

func policyLogger(t *testing.T) (*comply.Logger, *memstore.Store) {
	t.Helper()
	p, err := policy.Parse([]byte(frontendPolicy))
	if err != nil {
		t.Fatal(err)
	}
	ms := memstore.New(0)
	l, err := comply.New(ms, &comply.Options{Policy: p})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l, ms
}

const chatBody = `{"model": "gpt-4o", "messages": [{"role": "user", "content": "hello"}]}`

func postChat(t *testing.T, c *http.Client, base string) {
	t.Helper()
	resp, err := c.Post(base+"/v1/chat/completions", "application/json", strings.NewReader(chatBody))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestTransportAppliesPolicy(t *testing.T) {
	l, _ := policyLogger(t)
	up := llmtest.NewServer()
	defer up.Close()
	tr := &llm.Transport{Logger: l, OnError: func(err error) { t.Errorf("OnError: %v", err) }}
	postChat(t, &http.Client{Transport: tr}, up.URL)
	e := llmtest.OneEntry(t, tr)
	if e.InputHash != "" || e.OutputHash != "" || e.Model != "gpt-4o" {
		t.Errorf("entry %+v: want level metadata (no hashes) for route transport", e)
	}
}

func TestProxyAppliesPolicy(t *testing.T) {
	l, ms := policyLogger(t)
	up := llmtest.NewServer()
	defer up.Close()
	u, _ := url.Parse(up.URL)
	tr := &llm.Transport{Logger: l, Route: "proxy/openai", OnError: func(err error) { t.Errorf("OnError: %v", err) }}
	px := httptest.NewServer(proxy.New(u, tr))
	defer px.Close()
	postChat(t, px.Client(), px.URL)
	postChat(t, px.Client(), px.URL)
	// The proxy may write after the client has its whole answer: wait.
	var counts []policy.Count
	var err error
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		counts, err = policy.ReadCounts(t.Context(), ms, time.Time{}, time.Time{})
		if err != nil || len(counts) == 1 && counts[0].Count == 2 {
			break
		}
	}
	if err != nil || len(counts) != 1 || counts[0].Rule != "proxied" || counts[0].Count != 2 {
		t.Errorf("counts %+v, %v; want 2 of rule proxied", counts, err)
	}
	if n, _ := l.Count(t.Context()); n != 0 {
		t.Errorf("%d entries; want none (level none)", n)
	}
}

func TestOTLPAppliesPolicy(t *testing.T) {
	l, _ := policyLogger(t)
	srv, results := otlptest.Server(t, l)
	body, err := os.ReadFile("../otlp/testdata/export.json")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := srv.Client().Post(srv.URL+"/v1/traces", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rs := results()
	if resp.StatusCode != http.StatusOK || len(rs) != 1 {
		t.Fatalf("status %d, results %+v", resp.StatusCode, rs)
	}
	if r := rs[0]; r.Rejected == 0 || r.Converted != 0 || !strings.Contains(r.RejectedWhy, "logging policy") {
		t.Errorf("result %+v: want every GenAI span rejected for lacking user_id", r)
	}
	if n, _ := l.Count(t.Context()); n != 0 {
		t.Errorf("%d entries stored; the policy rejects them all", n)
	}
}
