package otlp_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/otlp"
	"github.com/complyhq/comply/store/memstore"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// server runs a Handler over a Logger on a memory store, whose clock is
// now().
func server(t *testing.T, maxBody int64) (*httptest.Server, *comply.Logger, *[]otlp.Result) {
	return serverAt(t, maxBody, now)
}

// serverAt is server, with the Handler's clock handlerNow.
func serverAt(t *testing.T, maxBody int64, handlerNow func() time.Time) (*httptest.Server, *comply.Logger, *[]otlp.Result) {
	t.Helper()
	logger, err := comply.New(memstore.New(0), &comply.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logger.Close() })
	var results []otlp.Result
	h := &otlp.Handler{
		Log: func(ctx context.Context, ins []comply.Interaction) ([]string, error) {
			return logger.LogBatch(ctx, ins...)
		},
		MaxBody:  maxBody,
		Options:  otlp.Options{Now: handlerNow, Hash: logger.Hash},
		OnResult: func(r otlp.Result) { results = append(results, r) },
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, logger, &results
}

func post(t *testing.T, url, ctype, enc string, body []byte) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/v1/traces", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	if enc != "" {
		req.Header.Set("Content-Encoding", enc)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func count(t *testing.T, l *comply.Logger) int64 {
	t.Helper()
	n, err := l.Count(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func chatSpan() *tracepb.Span {
	return span(attrs(s("gen_ai.operation.name", "chat"), s("gen_ai.provider.name", "openai"),
		s("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"hi"}]}]`),
		s("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"hello"}]}]`)))
}

// partialSuccess decodes the rejected_spans and error_message of a
// protobuf ExportTraceServiceResponse.
func partialSuccess(t *testing.T, b []byte) (int64, string) {
	t.Helper()
	var n int64
	var msg string
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 || num != 1 || typ != protowire.BytesType {
			t.Fatalf("response %x", b)
		}
		ps, m := protowire.ConsumeBytes(b[l:])
		b = b[l+m:]
		for len(ps) > 0 {
			num, typ, l := protowire.ConsumeTag(ps)
			ps = ps[l:]
			switch {
			case num == 1 && typ == protowire.VarintType:
				v, m := protowire.ConsumeVarint(ps)
				n, ps = int64(v), ps[m:]
			case num == 2 && typ == protowire.BytesType:
				v, m := protowire.ConsumeString(ps)
				msg, ps = v, ps[m:]
			default:
				t.Fatalf("partial_success field %d", num)
			}
		}
	}
	return n, msg
}

// TestHandlerAccepts: protobuf, JSON and gzip exports are stored, and the
// answer is in the request's encoding.
func TestHandlerAccepts(t *testing.T) {
	pb, err := proto.Marshal(export(chatSpan(), span(attrs(s("http.method", "GET")))))
	if err != nil {
		t.Fatal(err)
	}
	js := mustRead(t, "testdata/export.json")
	tests := []struct {
		name, ctype, enc string
		body             []byte
		stored           int64
		want             string
	}{
		{"protobuf", otlp.ContentTypeProtobuf, "", pb, 1, ""},
		{"protobuf gzip", otlp.ContentTypeProtobuf, "gzip", gz(pb), 1, ""},
		{"json", "application/json; charset=utf-8", "", js, 0, "{}"},
		{"json gzip", otlp.ContentTypeJSON, "gzip", gz(js), 0, "{}"},
		{"json unknown fields", otlp.ContentTypeJSON, "", []byte(`{"resourceSpans":[{"future":1,"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"x","kind":3,"startTimeUnixNano":"1772366400000000000","endTimeUnixNano":1772366400250000000,"attributes":[{"key":"gen_ai.system","value":{"stringValue":"openai"}}],"newField":{"a":[1]}}]}]}]}`), 1, "{}"},
		{"empty export", otlp.ContentTypeProtobuf, "", nil, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, logger, _ := server(t, 0)
			resp, body := post(t, srv.URL, tt.ctype, tt.enc, tt.body)
			if resp.StatusCode != http.StatusOK || string(body) != tt.want && tt.want != "" {
				t.Fatalf("status %d body %q", resp.StatusCode, body)
			}
			if tt.stored > 0 && count(t, logger) != tt.stored {
				t.Errorf("%d entries, want %d", count(t, logger), tt.stored)
			}
			if tt.stored == 0 && strings.HasPrefix(tt.name, "json") && !strings.Contains(tt.name, "unknown") && count(t, logger) == 0 {
				t.Error("nothing stored")
			}
			wantType := otlp.ContentTypeProtobuf
			if strings.HasPrefix(tt.ctype, "application/json") {
				wantType = otlp.ContentTypeJSON
			}
			if ct := resp.Header.Get("Content-Type"); ct != wantType {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestHandlerBadInput: every bad request is refused with its status and
// stores nothing.
func TestHandlerBadInput(t *testing.T) {
	pb, _ := proto.Marshal(export(chatSpan()))
	bomb := gz(make([]byte, 4<<20)) // 4 MiB of zeros in a few KiB
	tests := []struct {
		name, method, ctype, enc string
		body                     []byte
		status                   int
	}{
		{"malformed protobuf", "POST", otlp.ContentTypeProtobuf, "", []byte{0x0a, 0xff, 0x01}, 400},
		{"protobuf, truncated", "POST", otlp.ContentTypeProtobuf, "", []byte{0x0a}, 400},
		{"malformed json", "POST", otlp.ContentTypeJSON, "", []byte(`{"resourceSpans":[`), 400},
		{"json not an object", "POST", otlp.ContentTypeJSON, "", []byte(`[1]`), 400},
		{"json trailing data", "POST", otlp.ContentTypeJSON, "", []byte(`{} {}`), 400},
		{"json bad hex id", "POST", otlp.ContentTypeJSON, "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz","spanId":"eee19b7ec3c1b174"}]}]}]}`), 400},
		{"json short id", "POST", otlp.ContentTypeJSON, "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8e","spanId":"eee19b7ec3c1b174"}]}]}]}`), 400},
		{"json wrong type", "POST", otlp.ContentTypeJSON, "", []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":5}]}]}]}`), 400},
		{"wrong content type", "POST", "text/plain", "", pb, 415},
		{"no content type", "POST", "", "", pb, 415},
		{"unknown encoding", "POST", otlp.ContentTypeProtobuf, "br", pb, 415},
		{"broken gzip", "POST", otlp.ContentTypeProtobuf, "gzip", []byte("not gzip"), 400},
		{"oversized", "POST", otlp.ContentTypeProtobuf, "", make([]byte, 2<<20), 413},
		{"gzip bomb", "POST", otlp.ContentTypeProtobuf, "gzip", bomb, 413},
		{"GET", "GET", otlp.ContentTypeProtobuf, "", nil, 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, logger, _ := server(t, 1<<20)
			req, _ := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+"/v1/traces", bytes.NewReader(tt.body))
			req.Header.Set("Content-Type", tt.ctype)
			if tt.enc != "" {
				req.Header.Set("Content-Encoding", tt.enc)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if len(body) == 0 {
				t.Error("no google.rpc.Status body")
			}
			if n := count(t, logger); n != 0 {
				t.Errorf("%d entries stored", n)
			}
		})
	}
}

// TestHandlerPartialSuccess: a span without a start time (which Convert
// rejects) and a span the Logger refuses (dated in the future by the
// Logger's clock, not by the Handler's) are rejected alone; the others are
// stored, and the answer says how many were rejected.
func TestHandlerPartialSuccess(t *testing.T) {
	noStart := chatSpan()
	noStart.StartTimeUnixNano = 0
	future := chatSpan()
	future.StartTimeUnixNano = uint64(now().Add(time.Hour).UnixNano())
	future.EndTimeUnixNano = future.StartTimeUnixNano
	td := export(chatSpan(), noStart, future, chatSpan())
	for _, ctype := range []string{otlp.ContentTypeProtobuf, otlp.ContentTypeJSON} {
		t.Run(ctype, func(t *testing.T) {
			srv, logger, results := serverAt(t, 0, func() time.Time { return now().Add(2 * time.Hour) })
			var body []byte
			if ctype == otlp.ContentTypeJSON {
				body = jsonExport(t, td)
			} else {
				body, _ = proto.Marshal(td)
			}
			resp, out := post(t, srv.URL, ctype, "", body)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, out)
			}
			var n int64
			var msg string
			if ctype == otlp.ContentTypeJSON {
				var r struct {
					PartialSuccess struct {
						RejectedSpans json.Number `json:"rejectedSpans"`
						ErrorMessage  string      `json:"errorMessage"`
					} `json:"partialSuccess"`
				}
				if err := json.Unmarshal(out, &r); err != nil {
					t.Fatalf("%s: %v", out, err)
				}
				n, _ = r.PartialSuccess.RejectedSpans.Int64()
				msg = r.PartialSuccess.ErrorMessage
			} else {
				n, msg = partialSuccess(t, out)
			}
			if n != 2 || !strings.Contains(msg, "no start time") {
				t.Errorf("rejected %d (%q), want 2", n, msg)
			}
			if got := count(t, logger); got != 2 {
				t.Errorf("%d entries stored, want 2", got)
			}
			if r := (*results)[0]; r.Rejected != 2 || r.Converted != 2 || r.Spans != 4 {
				t.Errorf("result %+v", r)
			}
		})
	}
}

// TestHandlerStorageFailure: a storage failure answers 503, which the
// exporter retries, never 200.
func TestHandlerStorageFailure(t *testing.T) {
	h := &otlp.Handler{Log: func(context.Context, []comply.Interaction) ([]string, error) {
		return nil, errors.New("disk full")
	}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	pb, _ := proto.Marshal(export(chatSpan()))
	for _, ctype := range []string{otlp.ContentTypeProtobuf, otlp.ContentTypeJSON} {
		body := pb
		if ctype == otlp.ContentTypeJSON {
			body = jsonExport(t, export(chatSpan()))
		}
		resp, out := post(t, srv.URL, ctype, "", body)
		if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(string(out), "disk full") {
			t.Errorf("%s: status %d body %q", ctype, resp.StatusCode, out)
		}
	}
	// A closed Logger fails the same way.
	srv2, logger, _ := server(t, 0)
	logger.Close()
	resp, _ := post(t, srv2.URL, otlp.ContentTypeProtobuf, "", pb)
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("closed logger: status %d", resp.StatusCode)
	}
}

// TestHandlerStoredEntry: the stored entry holds the hashes of the
// canonical texts, and the metadata.
func TestHandlerStoredEntry(t *testing.T) {
	srv, logger, _ := server(t, 0)
	pb, _ := proto.Marshal(export(chatSpan()))
	if resp, _ := post(t, srv.URL, otlp.ContentTypeProtobuf, "", pb); resp.StatusCode != 200 {
		t.Fatal(resp.Status)
	}
	var got []comply.Entry
	for e, err := range logger.Entries(t.Context(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	if len(got) != 1 {
		t.Fatalf("%d entries", len(got))
	}
	e := got[0]
	if e.InputHash != logger.Hash("hi") || e.OutputHash != logger.Hash("hello") || e.Provider != "openai" || !e.Timestamp.Equal(t0) || e.LatencyMS != 250 {
		t.Errorf("entry %+v", e)
	}
	md, _ := e.MetadataMap()
	if md["trace_id"] != "5b8efff798038103d269b633813fc60c" || !slices.Contains([]any{"chat"}, md["gen_ai.operation.name"]) {
		t.Errorf("metadata %v", md)
	}
}
