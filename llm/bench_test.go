package llm_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/store/memstore"
)

// cannedTransport answers every request with a recorded response, so that
// the benchmark measures the Transport, not a network.
type cannedTransport struct {
	header http.Header
	body   []byte
}

func (c *cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		io.Copy(io.Discard, req.Body)
		req.Body.Close()
	}
	return &http.Response{StatusCode: 200, Header: c.header, Body: io.NopCloser(bytes.NewReader(c.body)),
		ContentLength: int64(len(c.body)), Request: req}, nil
}

func canned(api string, stream bool) *cannedTransport {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, apiPath(api), strings.NewReader(reqBody(api, stream)))
	(&llmtest.Handler{}).ServeHTTP(rec, req)
	return &cannedTransport{header: rec.Header(), body: rec.Body.Bytes()}
}

// BenchmarkRoundTrip measures the Transport's own cost per call: parsing
// the request and the response, and logging to a memory store.
func BenchmarkRoundTrip(b *testing.B) {
	for _, api := range apis {
		for _, stream := range []bool{false, true} {
			name := api
			if stream {
				name += "/stream"
			}
			b.Run(name, func(b *testing.B) {
				l, _ := comply.New(memstore.New(1000), nil)
				defer l.Close()
				tr := &llm.Transport{Logger: l, Base: canned(api, stream)}
				body := reqBody(api, stream)
				url := "http://127.0.0.1" + apiPath(api)
				b.ReportAllocs()
				for b.Loop() {
					req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
					resp, err := tr.RoundTrip(req)
					if err != nil {
						b.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
	}
}
