package llm_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
)

// TestBytesUnchanged: whatever the read sizes, the caller reads exactly the
// upstream's bytes, and exactly one entry is written.
func TestBytesUnchanged(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	readers := map[string]func(io.Reader) io.Reader{
		"ReadAll":  func(r io.Reader) io.Reader { return r },
		"OneByte":  iotest.OneByteReader,
		"HalfRead": iotest.HalfReader,
	}
	for _, api := range apis {
		for _, stream := range []bool{false, true} {
			for rname, wrap := range readers {
				t.Run(fmt.Sprintf("%s/stream=%v/%s", api, stream, rname), func(t *testing.T) {
					url, body := srv.URL+apiPath(api), reqBody(api, stream)
					_, want, err := post(t, srv.Client().Transport, url, body)
					if err != nil {
						t.Fatal(err)
					}
					tr := newTransport(t)
					req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, url, strings.NewReader(body))
					resp, err := tr.RoundTrip(req)
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(wrap(resp.Body))
					resp.Body.Close()
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, want) {
						t.Errorf("bytes differ:\n got %q\nwant %q", got, want)
					}
					if e := oneEntry(t, tr); !e.SafetyPassed || e.OutputHash != tr.Logger.Hash(llmtest.DefaultText) {
						t.Errorf("entry: safety=%v reason=%q", e.SafetyPassed, e.BlockReason)
					}
				})
			}
		}
	}
}

// TestMalformedUpstream: a 200 response that is not what the API promises
// reaches the caller unchanged; the entry says it was malformed.
func TestMalformedUpstream(t *testing.T) {
	cases := []struct {
		name, ctype, body, reason string
	}{
		{"json", "application/json", `{"id":"chatcmpl-1","choices":[{"index":0,"message":{"content":"Hel`, "malformed response: invalid JSON: unexpected end of JSON input"},
		{"empty", "application/json", ``, "malformed response: empty body"},
		{"html", "text/html", `<html>oops</html>`, "malformed response: invalid JSON: invalid character '<' looking for beginning of value"},
		{"bad event", "text/event-stream", "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\ndata: {oops\n\ndata: [DONE]\n\n", "malformed response: event: invalid JSON: invalid character 'o' looking for beginning of object key string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.ctype)
				io.WriteString(w, tc.body)
			}))
			defer srv.Close()
			tr := newTransport(t)
			_, got, err := post(t, tr, srv.URL+"/v1/chat/completions", reqBody("chat.completions", false))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.body {
				t.Errorf("caller got %q", got)
			}
			if typ, msg := failure(t, oneEntry(t, tr)); typ != llm.ErrorMalformed || msg != tc.reason {
				t.Errorf("error %s %q, want malformed %q", typ, msg, tc.reason)
			}
		})
	}
	// The SDK's view: TestMalformedUpstreamSDK in integration/sdk/llmsdk.
}

// cutServer streams the first events of a chat completion, then cuts the
// connection, or (clean) ends the response without [DONE].
func cutServer(t *testing.T, clean bool) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for _, word := range []string{"Hello", " there"} {
			fmt.Fprintf(w, "data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", word)
		}
		io.WriteString(w, "data: {\"id\":\"chatcmpl-1\",\"choi") // half an event
		w.(http.Flusher).Flush()
		if clean {
			return
		}
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		conn.Close()
	}))
}

// TestStreamCut: a stream cut halfway gives the caller the same error a
// direct call gives; the entry has the partial output and says why.
func TestStreamCut(t *testing.T) {
	for _, clean := range []bool{false, true} {
		t.Run(fmt.Sprintf("clean=%v", clean), func(t *testing.T) {
			srv := cutServer(t, clean)
			defer srv.Close()
			url, body := srv.URL+"/v1/chat/completions", reqBody("chat.completions", true)
			_, want, wantErr := post(t, http.DefaultTransport, url, body)
			tr := newTransport(t)
			_, got, err := post(t, tr, url, body)
			if !bytes.Equal(got, want) || fmt.Sprint(err) != fmt.Sprint(wantErr) {
				t.Errorf("caller got %q, %v; direct call %q, %v", got, err, want, wantErr)
			}
			e := oneEntry(t, tr)
			wantType, reason := llm.ErrorTransport, "incomplete: response interrupted: unexpected EOF"
			if clean {
				wantType, reason = llm.ErrorIncomplete, "incomplete: the stream ended before its final event"
			}
			if typ, msg := failure(t, e); typ != wantType || msg != reason {
				t.Errorf("error %s %q, want %s %q", typ, msg, wantType, reason)
			}
			if e.OutputHash != tr.Logger.Hash("Hello there") {
				t.Errorf("output is not the partial text")
			}
		})
	}
	// Through the SDK: TestStreamCutSDK in integration/sdk/llmsdk.
}

// TestLargeRequest: a 20 MB request goes through and its input is
// recorded; past MaxRequestBody it goes through unchanged, unparsed, and
// its input_hash is the hash of the whole body (never that of "").
func TestLargeRequest(t *testing.T) {
	big := strings.Repeat("All work and no play makes Jack a dull boy. ", 20<<20/44)
	body, _ := json.Marshal(map[string]any{"model": "gpt-4.1", "messages": []any{map[string]any{"role": "user", "content": big}}})
	for _, limit := range []int64{0, 1 << 20} {
		t.Run(fmt.Sprintf("MaxRequestBody=%d", limit), func(t *testing.T) {
			var gotLen int
			var mu sync.Mutex
			srv := llmtest.NewServer()
			defer srv.Close()
			srv.Record = func(r llmtest.Request) { mu.Lock(); gotLen = len(r.Body); mu.Unlock() }
			tr := newTransport(t)
			tr.MaxRequestBody = limit
			resp, got, err := post(t, tr, srv.URL+"/v1/chat/completions", string(body))
			if err != nil || resp.StatusCode != 200 || !bytes.Contains(got, []byte(llmtest.DefaultText)) {
				t.Fatalf("caller got %v %s", err, got)
			}
			mu.Lock()
			if gotLen != len(body) {
				t.Errorf("upstream got %d bytes, want %d", gotLen, len(body))
			}
			mu.Unlock()
			e := oneEntry(t, tr)
			if limit == 0 {
				if e.InputHash != tr.Logger.Hash(big) || !e.SafetyPassed {
					t.Errorf("input of %d bytes not recorded", len(big))
				}
			} else if e.InputHash != tr.Logger.Hash(string(body)) || len(e.Alerts) != 1 || !strings.Contains(e.Alerts[0], "hash of the whole body") {
				t.Errorf("alerts %q", e.Alerts)
			}
		})
	}
}

// slowStream streams chat chunks until the client goes away.
func slowStream(started chan<- struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: {\"id\":\"chatcmpl-1\",\"model\":\"gpt-4.1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Once\"},\"finish_reason\":null}]}\n\n")
		w.(http.Flusher).Flush()
		close(started)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.Context().Done():
				return
			case <-tick.C:
				io.WriteString(w, ": keep-alive\n\n")
				w.(http.Flusher).Flush()
			}
		}
	}
}

// TestClientGoesAway: a caller that cancels or closes mid-stream gets its
// error, and the entry says the call was cut short, once.
func TestClientGoesAway(t *testing.T) {
	for _, how := range []string{"cancel", "close"} {
		t.Run(how, func(t *testing.T) {
			started := make(chan struct{})
			srv := httptest.NewServer(slowStream(started))
			defer srv.Close()
			tr := newTransport(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(reqBody("chat.completions", true)))
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			<-started
			buf := make([]byte, 4096)
			if _, err := resp.Body.Read(buf); err != nil {
				t.Fatal(err)
			}
			var reason string
			if how == "cancel" {
				cancel()
				_, err = io.ReadAll(resp.Body)
				if !errors.Is(err, context.Canceled) {
					t.Errorf("read after cancel: %v", err)
				}
				resp.Body.Close()
				reason = "canceled by the client: context canceled"
			} else {
				resp.Body.Close()
				reason = "incomplete: closed by the client before the end of the response"
			}
			e := oneEntry(t, tr)
			if typ, msg := failure(t, e); typ != llm.ErrorCanceled || msg != reason {
				t.Errorf("error %s %q, want canceled %q", typ, msg, reason)
			}
			if e.OutputHash != tr.Logger.Hash("Once") {
				t.Errorf("output is not the partial text")
			}
		})
	}
}

// TestUpstreamDown: the caller gets the dial error; the entry says so.
func TestUpstreamDown(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	tr := newTransport(t)
	_, _, err = post(t, tr, "http://"+addr+"/v1/messages", reqBody("messages", false))
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("err = %v", err)
	}
	e := oneEntry(t, tr)
	if typ, msg := failure(t, e); typ != llm.ErrorTransport || !strings.HasPrefix(msg, "upstream error: ") || !strings.Contains(msg, "connection refused") {
		t.Errorf("error %s %q", typ, msg)
	}
	if e.Provider != "anthropic" || e.Model != "claude-sonnet-4-5" || e.InputHash != tr.Logger.Hash("Hello!") {
		t.Errorf("entry %+v", e)
	}
}

// TestFailClosed: when the entry cannot be written, a raw reader never
// sees a successful response (the SDKs: TestFailClosedSDK and TestFailOpen
// in integration/sdk/llmsdk).
func TestFailClosed(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	for _, api := range apis {
		for _, stream := range []bool{false, true} {
			t.Run(fmt.Sprintf("raw/%s/stream=%v", api, stream), func(t *testing.T) {
				url, body := srv.URL+apiPath(api), reqBody(api, stream)
				_, full, err := post(t, srv.Client().Transport, url, body)
				if err != nil {
					t.Fatal(err)
				}
				tr, _ := newFailingTransport(t, false)
				_, got, err := post(t, tr, url, body)
				if !errors.Is(err, llm.ErrNotLogged) {
					t.Fatalf("read error = %v", err)
				}
				if !bytes.HasPrefix(full, got) || len(got) >= len(full) {
					t.Errorf("caller got %d bytes of %d, want a strict prefix", len(got), len(full))
				}
				if stream && !bytes.HasSuffix(got, []byte("\n")) {
					t.Errorf("stream cut inside a line: %q", got[max(0, len(got)-40):])
				}
			})
		}
	}
	t.Run("upstream down", func(t *testing.T) {
		tr, _ := newFailingTransport(t, false)
		_, _, err := post(t, tr, "http://127.0.0.1:1/v1/chat/completions", reqBody("chat.completions", false))
		if !errors.Is(err, llm.ErrNotLogged) {
			t.Errorf("err = %v", err)
		}
	})
}

// TestCompressed: a gzip body the caller asked for passes compressed, and
// is decoded for the entry.
func TestCompressed(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			h := &llmtest.Handler{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				var zb bytes.Buffer
				zw := gzip.NewWriter(&zb)
				zw.Write(rec.Body.Bytes())
				zw.Close()
				w.Header().Set("Content-Type", rec.Header().Get("Content-Type"))
				w.Header().Set("Content-Encoding", "gzip")
				w.Write(zb.Bytes())
			}))
			defer srv.Close()
			url, body := srv.URL+"/v1/messages", reqBody("messages", stream)
			_, want, _ := post(t, http.DefaultTransport, url, body, "Accept-Encoding", "gzip")
			tr := newTransport(t)
			_, got, err := post(t, tr, url, body, "Accept-Encoding", "gzip")
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("caller got %v, %d bytes, want %d", err, len(got), len(want))
			}
			if e := oneEntry(t, tr); !e.SafetyPassed || e.OutputHash != tr.Logger.Hash(llmtest.DefaultText) {
				t.Errorf("entry: %v %q", e.SafetyPassed, e.BlockReason)
			}
		})
	}
}

// TestDecoderStopsEarly: a caller that decodes the JSON and closes without
// reading io.EOF still gets a passing entry.
func TestDecoderStopsEarly(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	tr := newTransport(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(reqBody("chat.completions", false)))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if e := oneEntry(t, tr); !e.SafetyPassed {
		t.Errorf("block reason %q", e.BlockReason)
	}
}

// TestBadMetadataHeader: a bad X-Comply-Metadata is dropped with an alert;
// the call goes on.
func TestBadMetadataHeader(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	tr := newTransport(t)
	if _, _, err := post(t, tr, srv.URL+"/v1/responses", reqBody("responses", false), llm.HeaderMetadata, "[1,2]"); err != nil {
		t.Fatal(err)
	}
	e := oneEntry(t, tr)
	if !e.SafetyPassed || len(e.Alerts) != 1 || !strings.Contains(e.Alerts[0], llm.HeaderMetadata) {
		t.Errorf("alerts %q", e.Alerts)
	}
	noComplyHeaders(t, srv.Requests()[0].Header)
}

// TestWholeBodyInOneRead: when the length is known, the held final byte
// goes out with the rest, so a proxy writes the answer in one piece.
func TestWholeBodyInOneRead(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	tr := newTransport(t)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(reqBody("messages", false)))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.ContentLength <= 0 {
		t.Fatalf("ContentLength %d", resp.ContentLength)
	}
	buf := make([]byte, 64<<10)
	n, err := resp.Body.Read(buf)
	if int64(n) != resp.ContentLength || (err != nil && err != io.EOF) {
		t.Errorf("first read: %d of %d bytes, %v", n, resp.ContentLength, err)
	}
	oneEntry(t, tr)
}

// TestBadMetadataValue: metadata that cannot be encoded is dropped with an
// alert; the call and its entry go on.
func TestBadMetadataValue(t *testing.T) {
	srv := llmtest.NewServer()
	defer srv.Close()
	tr := newTransport(t)
	ctx := llm.WithMetadata(t.Context(), map[string]any{"ratio": math.NaN(), "user_id": "u1"})
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/v1/chat/completions", strings.NewReader(reqBody("chat.completions", false)))
	req.Header.Set(llm.HeaderConversationID, "conv-\xff")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	e := oneEntry(t, tr)
	md := meta(t, e)
	if !e.SafetyPassed || md["user_id"] != nil || md["api"] != "chat.completions" || len(e.Alerts) != 1 || e.ConversationID != "conv-\uFFFD" {
		t.Errorf("entry: alerts %q metadata %s conv %q", e.Alerts, e.Metadata, e.ConversationID)
	}
}
