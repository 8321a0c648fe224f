package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/server"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/memstore"
)

const item = `{"input": "What is the weather?", "output": "Sunny.", "provider": "openai", "model": "gpt-4", "metadata": {"team": "search"}}`

func TestIngest(t *testing.T) {
	tests := []struct {
		name, token, ctype, body string
		maxBody                  int64
		status                   int
		stored                   int64
		wantErr                  string
		index                    float64 // of a 400
	}{
		{name: "array", token: "ingest-secret", ctype: "application/json", body: "[" + item + "," + item + "]", status: 200, stored: 2},
		{name: "ndjson", token: "ingest-secret", ctype: "application/x-ndjson", body: item + "\n\n" + item + "\n", status: 200, stored: 2},
		{name: "charset param", token: "ingest-secret", ctype: "application/json; charset=utf-8", body: "[" + item + "]", status: 200, stored: 1},
		{name: "admin may ingest", token: "admin-secret", ctype: "application/json", body: "[" + item + "]", status: 200, stored: 1},
		{name: "empty array", token: "ingest-secret", ctype: "application/json", body: "[]", status: 200},
		{name: "malformed JSON", token: "ingest-secret", ctype: "application/json", body: "[" + item + ",{", status: 400, wantErr: "item 1", index: 1},
		{name: "not an array", token: "ingest-secret", ctype: "application/json", body: item, status: 400, wantErr: "want a JSON array"},
		{name: "unknown field", token: "ingest-secret", ctype: "application/json", body: "[" + item + `,{"input": "x", "colour": 1}]`, status: 400, wantErr: `unknown key "colour"`, index: 1},
		{name: "invalid second line", token: "ingest-secret", ctype: "application/x-ndjson", body: item + "\n" + `{"output": "x"}`, status: 400, wantErr: `missing key "input"`, index: 1},
		{name: "invalid for LogBatch", token: "ingest-secret", ctype: "application/json", body: "[" + item + "," + item + `,{"input": "x", "timestamp": "2999-01-01"}]`, status: 400, wantErr: "timestamp", index: 2},
		{name: "wrong content type", token: "ingest-secret", ctype: "text/plain", body: "[" + item + "]", status: 415},
		{name: "too large", token: "ingest-secret", ctype: "application/json", body: "[" + item + "," + item + "]", maxBody: 100, status: 413},
		{name: "no token", ctype: "application/json", body: "[" + item + "]", status: 401},
		{name: "unknown token", token: "revoked", ctype: "application/json", body: "[" + item + "]", status: 401},
		{name: "wrong role", token: "read-secret", ctype: "application/json", body: "[" + item + "]", status: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, envOpts{opts: func(o *server.Options) { o.MaxBody = tt.maxBody }})
			status, b, hdr := e.do("POST", "/v1/entries", tt.token, tt.body, "Content-Type", tt.ctype)
			if status != tt.status {
				t.Fatalf("status %d %s, want %d", status, b, tt.status)
			}
			if got := e.count(); got != tt.stored {
				t.Errorf("%d entries stored, want %d", got, tt.stored)
			}
			if jsonField(t, b, "error") == nil && status != 200 {
				t.Errorf("error answer without an error: %s", b)
			}
			if status == 200 {
				ids, _ := jsonField(t, b, "ids").([]any)
				if int64(len(ids)) != tt.stored {
					t.Errorf("ids %s, want %d", b, tt.stored)
				}
			}
			if status == 401 && hdr.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if tt.wantErr != "" && !strings.Contains(fmt.Sprint(jsonField(t, b, "error")), tt.wantErr) {
				t.Errorf("error %s, want %q", b, tt.wantErr)
			}
			if status == 400 {
				if got, _ := jsonField(t, b, "index").(float64); got != tt.index {
					t.Errorf("index %v, want %v", got, tt.index)
				}
			}
		})
	}
}

func TestIdempotency(t *testing.T) {
	e := newEnv(t, envOpts{})
	post := func(key, body string) (int, []byte) {
		status, b, _ := e.do("POST", "/v1/entries", "ingest-secret", body, "Content-Type", "application/json", "Idempotency-Key", key)
		return status, b
	}
	s1, b1 := post("k1", "["+item+"]")
	s2, b2 := post("k1", "["+item+"]")
	if s1 != 200 || s2 != 200 || string(b1) != string(b2) {
		t.Fatalf("retry: %d %s then %d %s, want the same ids", s1, b1, s2, b2)
	}
	if s, b := post("k1", "["+item+","+item+"]"); s != http.StatusUnprocessableEntity {
		t.Errorf("same key, other body: %d %s, want 422", s, b)
	}
	// Another token's same key is another key.
	status, _, _ := e.do("POST", "/v1/entries", "admin-secret", "["+item+"]", "Content-Type", "application/json", "Idempotency-Key", "k1")
	if status != 200 {
		t.Errorf("admin's k1: %d", status)
	}
	if n := e.count(); n != 2 {
		t.Errorf("%d entries, want 2", n)
	}

	// Concurrent duplicates: one batch stored.
	var wg sync.WaitGroup
	answers := make([]string, 8)
	for i := range answers {
		wg.Go(func() {
			_, b := post("k2", "["+item+"]")
			answers[i] = string(b)
		})
	}
	wg.Wait()
	for _, a := range answers[1:] {
		if a != answers[0] {
			t.Errorf("concurrent retries answered %s and %s", answers[0], a)
		}
	}
	if n := e.count(); n != 3 {
		t.Errorf("%d entries after concurrent duplicates, want 3", n)
	}
}

func TestIdempotencyAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	serve := func() (*comply.Logger, *env) {
		st, err := filestore.Open(t.Context(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		l, err := comply.New(st, nil)
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.New(server.Options{Logger: l, Auth: testTokens, Access: &recorder{}})
		if err != nil {
			t.Fatal(err)
		}
		e := &env{t: t, l: l, srv: srv}
		e.ts = httptestServer(t, srv)
		return l, e
	}
	l1, e1 := serve()
	_, b1, _ := e1.do("POST", "/v1/entries", "ingest-secret", "["+item+"]", "Content-Type", "application/json", "Idempotency-Key", "retry-me")
	e1.ts.Close()
	if err := l1.Close(); err != nil {
		t.Fatal(err)
	}
	l2, e2 := serve()
	defer l2.Close()
	defer e2.ts.Close()
	status, b2, hdr := e2.do("POST", "/v1/entries", "ingest-secret", "["+item+"]", "Content-Type", "application/json", "Idempotency-Key", "retry-me")
	if status != 200 || string(b1) != string(b2) || hdr.Get("Idempotent-Replayed") != "true" {
		t.Errorf("after restart: %d %s (replayed %q), want %s", status, b2, hdr.Get("Idempotent-Replayed"), b1)
	}
	if n := e2.count(); n != 1 {
		t.Errorf("%d entries, want 1", n)
	}
}

func TestPaging(t *testing.T) {
	e := newEnv(t, envOpts{})
	// 57 entries over 10 days, several at the same microsecond.
	base := time.Now().UTC().AddDate(0, 0, -10).Truncate(time.Second)
	var items []string
	for i := range 57 {
		ts := base.Add(time.Duration(i/3) * 13 * time.Hour)
		items = append(items, fmt.Sprintf(`{"input": "q%d", "model": "m%d", "timestamp": %q}`, i, i%2, ts.Format(time.RFC3339Nano)))
	}
	want := map[string]bool{}
	for _, id := range e.post(items...) {
		want[id] = true
	}
	for _, limit := range []int{1, 2, 7, 56, 57, 100} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			seen := map[string]bool{}
			var prev string
			cur := ""
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("too many pages")
				}
				path := fmt.Sprintf("/v1/entries?limit=%d", limit)
				if cur != "" {
					path += "&cursor=" + cur
				}
				status, b, _ := e.do("GET", path, "read-secret", "")
				if status != 200 {
					t.Fatalf("%s: %d %s", path, status, b)
				}
				var page struct {
					Entries []struct {
						ID        string `json:"id"`
						Timestamp string `json:"timestamp"`
					} `json:"entries"`
					Next *string `json:"next_cursor"`
				}
				if err := json.Unmarshal(b, &page); err != nil {
					t.Fatal(err)
				}
				if len(page.Entries) > limit {
					t.Fatalf("page of %d, limit %d", len(page.Entries), limit)
				}
				for _, en := range page.Entries {
					key := en.Timestamp + en.ID
					if prev != "" && key >= prev {
						t.Errorf("not newest first: %s after %s", key, prev)
					}
					prev = key
					if seen[en.ID] {
						t.Errorf("entry %s on two pages", en.ID)
					}
					seen[en.ID] = true
				}
				if page.Next == nil {
					break
				}
				cur = *page.Next
			}
			if len(seen) != len(want) {
				t.Errorf("%d entries seen, want %d", len(seen), len(want))
			}
		})
	}
	// A filter.
	status, b, _ := e.do("GET", "/v1/entries?model=m1&limit=1000", "read-secret", "")
	var page struct{ Entries []map[string]any }
	json.Unmarshal(b, &page)
	if status != 200 || len(page.Entries) != 28 {
		t.Errorf("model=m1: %d, %d entries, want 28", status, len(page.Entries))
	}
}

func TestStreamEqualsQuery(t *testing.T) {
	e := newEnv(t, envOpts{})
	for range 5 {
		e.post(item, item, `{"input": "other", "provider": "anthropic"}`)
	}
	for _, tt := range []struct{ query, filter string }{{"", ""}, {"?provider=openai", "openai"}} {
		status, b, hdr := e.do("GET", "/v1/entries"+tt.query, "read-secret", "", "Accept", "application/x-ndjson")
		if status != 200 || hdr.Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("%d %s", status, hdr.Get("Content-Type"))
		}
		var want []string
		for en, err := range e.l.Query(t.Context(), comply.Query{Provider: tt.filter}) {
			if err != nil {
				t.Fatal(err)
			}
			j, _ := en.AppendJSON(nil)
			want = append(want, string(j))
		}
		got := lines(b)
		if len(got) != len(want) {
			t.Fatalf("%q: %d lines, want %d", tt.query, len(got), len(want))
		}
		for i := range got {
			if string(got[i]) != want[i] {
				t.Errorf("line %d: %s, want %s", i, got[i], want[i])
			}
		}
	}
	// Recorded at the start (count -1) and at the end with the count.
	recs := e.access.all()
	if len(recs) != 4 || recs[0].Count != -1 || recs[1].Count != 15 || recs[3].Count != 10 {
		t.Errorf("access records %+v, want a start and an end per stream", recs)
	}
}

func TestGetAndDecrypt(t *testing.T) {
	for _, content := range []bool{false, true} {
		t.Run(fmt.Sprintf("content=%v", content), func(t *testing.T) {
			e := newEnv(t, envOpts{content: content})
			id := e.post(item)[0]
			status, b, _ := e.do("GET", "/v1/entries/"+id, "read-secret", "")
			if status != 200 {
				t.Fatalf("get: %d %s", status, b)
			}
			en, _ := e.l.Get(t.Context(), id)
			want, _ := en.AppendJSON(nil)
			if strings.TrimSpace(string(b)) != string(want) {
				t.Errorf("get: %s, want the entry's line %s", b, want)
			}
			status, b, _ = e.do("POST", "/v1/entries/"+id+"/decrypt", "decrypt-secret", "")
			if status != 200 {
				t.Fatalf("decrypt: %d %s", status, b)
			}
			var d struct{ ID, Input, Output *string }
			json.Unmarshal(b, &d)
			if content && (d.Input == nil || *d.Input != "What is the weather?" || *d.Output != "Sunny.") {
				t.Errorf("decrypt: %s", b)
			}
			if !content && (d.Input != nil || d.Output != nil || *d.ID != id) {
				t.Errorf("decrypt of a hash-only entry: %s, want nulls", b)
			}
			if status, _, _ := e.do("POST", "/v1/entries/"+id+"/decrypt", "read-secret", ""); status != 403 {
				t.Errorf("decrypt with a read token: %d, want 403", status)
			}
			status, b, _ = e.do("GET", "/v1/entries/0195e7a2-0000-7000-8000-000000000000", "read-secret", "")
			if status != 404 || jsonField(t, b, "error") == nil {
				t.Errorf("unknown id: %d %s, want a JSON 404", status, b)
			}
		})
	}
}

func TestProofVerifies(t *testing.T) {
	e := newEnv(t, envOpts{signed: true})
	id := e.post(item)[0]
	if _, err := e.l.Ledger().Checkpoint(t.Context()); err != nil {
		t.Fatal(err)
	}
	status, b, _ := e.do("GET", "/v1/entries/"+id+"/proof", "read-secret", "")
	if status != 200 {
		t.Fatalf("proof: %d %s", status, b)
	}
	p, err := ledger.ParseProof(b)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.VerifyProof(p, e.signer.Verifier()); err != nil {
		t.Errorf("the proof does not verify: %v", err)
	}
	status, b, _ = e.do("POST", "/v1/verify", "admin-secret", "")
	if status != 200 || !strings.Contains(string(b), `"ok":true`) {
		t.Errorf("verify: %d %s", status, b)
	}
	if status, _, _ := e.do("POST", "/v1/verify", "read-secret", ""); status != 403 {
		t.Errorf("verify with a read token: %d, want 403", status)
	}
	status, b, _ = e.do("GET", "/v1/integrity", "read-secret", "")
	if status != 200 || jsonField(t, b, "size") == nil || jsonField(t, b, "last_verify") == nil {
		t.Errorf("integrity: %d %s", status, b)
	}
}

func TestAccessLog(t *testing.T) {
	e := newEnv(t, envOpts{})
	id := e.post(item)[0]
	e.do("GET", "/v1/entries/"+id, "read-secret", "")
	e.do("GET", "/v1/entries/"+id, "", "")
	e.do("GET", "/v1/entries/"+id, "ingest-secret", "")
	e.do("GET", "/v1/entries?model=gpt-4", "admin-secret", "")
	e.do("GET", "/v1/count", "read-secret", "") // not recorded
	recs := e.access.all()
	want := []struct {
		token  string
		status int
		denied bool
	}{{"rd", 200, false}, {"", 401, true}, {"ing", 403, true}, {"adm", 200, false}}
	if len(recs) != len(want) {
		t.Fatalf("%d records, want %d: %+v", len(recs), len(want), recs)
	}
	for i, w := range want {
		r := recs[i]
		if r.Token != w.token || r.Status != w.status || r.Denied != w.denied || r.Remote == "" || r.Route == "" {
			t.Errorf("record %d: %+v, want %+v", i, r, w)
		}
	}
	if recs[0].IDs[0] != id || recs[0].Count != 1 || recs[3].Filters["model"] != "gpt-4" {
		t.Errorf("records lack what was read: %+v", recs)
	}
	status, b, _ := e.do("GET", "/v1/access?denied=true", "admin-secret", "")
	var got struct{ Records []map[string]any }
	json.Unmarshal(b, &got)
	if status != 200 || len(got.Records) != 2 {
		t.Errorf("GET /v1/access?denied=true: %d %s", status, b)
	}

	// An access log that cannot be written refuses the read.
	e.access.fail.Store(true)
	status, b, _ = e.do("GET", "/v1/entries/"+id, "read-secret", "")
	if status != 503 || strings.Contains(string(b), id+`"`) && !strings.Contains(string(b), "error") {
		t.Errorf("read with the access log down: %d %s, want 503 without the entry", status, b)
	}
}

func TestReadyAfterWriteFailure(t *testing.T) {
	e := newEnv(t, envOpts{})
	if status, _, _ := e.do("GET", "/readyz", "", ""); status != 200 {
		t.Fatalf("readyz: %d", status)
	}
	e.st.fail.Store(true)
	status, b, _ := e.do("POST", "/v1/entries", "ingest-secret", "["+item+"]", "Content-Type", "application/json")
	if status != 503 {
		t.Errorf("write to a failing store: %d %s, want 503", status, b)
	}
	if status, _, _ := e.do("GET", "/readyz", "", ""); status != 503 {
		t.Errorf("readyz after a failed write: %d, want 503", status)
	}
	e.st.fail.Store(false)
	e.post(item)
	if status, _, _ := e.do("GET", "/readyz", "", ""); status != 200 {
		t.Errorf("readyz after a good write: %d, want 200", status)
	}
	_, b, _ = e.do("GET", "/metrics", "", "")
	for _, m := range []string{`comply_entries_written_total{source="api"} 1`, "comply_write_errors_total 1", `comply_http_requests_total{code="503",route="POST /v1/entries"} 1`, "comply_append_duration_seconds_count 2"} {
		if !strings.Contains(string(b), m) {
			t.Errorf("metrics lack %q", m)
		}
	}
}

func TestRoutesAndRoles(t *testing.T) {
	e := newEnv(t, envOpts{signed: true})
	id := e.post(item)[0]
	tests := []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/v1/count", "read-secret", 200},
		{"GET", "/v1/count", "ingest-secret", 403},
		{"GET", "/v1/count", "", 401},
		{"GET", "/v1/stats?since=7d", "decrypt-secret", 200},
		{"GET", "/v1/stats?since=soon", "read-secret", 400},
		{"GET", "/v1/entries?colour=red", "read-secret", 400},
		{"GET", "/v1/entries?limit=0", "read-secret", 400},
		{"GET", "/v1/entries?cursor=!!", "read-secret", 400},
		{"GET", "/v1/entries/not-an-id", "read-secret", 404},
		{"GET", "/v1/entries/" + id + "/proof", "ingest-secret", 403},
		{"GET", "/v1/access", "read-secret", 403},
		{"GET", "/v1/access", "admin-secret", 200},
		{"GET", "/v1/nothing", "admin-secret", 404},
		{"DELETE", "/v1/entries/" + id, "admin-secret", 404},
		{"GET", "/healthz", "", 200},
	}
	for _, tt := range tests {
		status, b, hdr := e.do(tt.method, tt.path, tt.token, "")
		if status != tt.status {
			t.Errorf("%s %s (%s): %d %s, want %d", tt.method, tt.path, tt.token, status, b, tt.status)
		}
		if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") {
			t.Errorf("%s %s: Content-Type %q, want JSON", tt.method, tt.path, hdr.Get("Content-Type"))
		}
	}
}

func TestInsecureNoAuth(t *testing.T) {
	e := newEnv(t, envOpts{opts: func(o *server.Options) { o.Auth, o.InsecureNoAuth = nil, true }})
	id := e.post(item)[0]
	if status, _, _ := e.do("GET", "/v1/entries/"+id, "", ""); status != 200 {
		t.Errorf("get without a token: %d", status)
	}
	if recs := e.access.all(); len(recs) != 1 || recs[0].Token != server.InsecureTokenName {
		t.Errorf("access records %+v, want token %s", recs, server.InsecureTokenName)
	}
	if _, err := server.New(server.Options{Logger: e.l}); err == nil {
		t.Error("New without Auth nor InsecureNoAuth succeeded")
	}
}

// TestAccessLogStore records through the real access log (a Logger over
// a store of its own) and reads it back with GET /v1/access.
func TestAccessLogStore(t *testing.T) {
	al, err := comply.New(memstore.New(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer al.Close()
	alog := accesslog.New(al)
	e := newEnv(t, envOpts{opts: func(o *server.Options) { o.Access, o.AccessLog = alog, alog.Records }})
	id := e.post(item)[0]
	e.do("POST", "/v1/entries/"+id+"/decrypt", "read-secret", "") // 403, recorded
	e.do("GET", "/v1/entries/"+id, "decrypt-secret", "")          // 200, recorded
	status, b, _ := e.do("GET", "/v1/access", "admin-secret", "")
	var got struct{ Records []accesslog.Record }
	if err := json.Unmarshal(b, &got); err != nil || status != 200 {
		t.Fatalf("GET /v1/access: %d %s", status, b)
	}
	if len(got.Records) != 2 || !got.Records[0].Denied || got.Records[0].Status != 403 || got.Records[0].Token != "rd" ||
		got.Records[1].Denied || got.Records[1].IDs[0] != id || got.Records[1].Token != "dec" {
		t.Errorf("access records %+v", got.Records)
	}
	if n, _ := al.Count(t.Context()); n != 3 { // and the read of the access log itself
		t.Errorf("%d access entries, want 3", n)
	}
}
