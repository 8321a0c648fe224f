package otlp_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/otlp"
	"github.com/complyhq/comply/otlp/otlptest"
	"github.com/complyhq/comply/store/filestore"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// benchExport returns an export of n GenAI spans, each with a 500-byte
// input and a 1,500-byte output in gen_ai.input/output.messages.
func benchExport(n int) *tracepb.TracesData {
	in := strings.Repeat("q", 500)
	out := strings.Repeat("a", 1500)
	spans := make([]*tracepb.Span, n)
	for k := range spans {
		sp := span(attrs(s("gen_ai.operation.name", "chat"), s("gen_ai.provider.name", "openai"),
			s("gen_ai.request.model", "gpt-4.1"), s("gen_ai.response.model", "gpt-4.1-2025-04-14"),
			i("gen_ai.usage.input_tokens", 120), i("gen_ai.usage.output_tokens", 380),
			s("gen_ai.conversation.id", "conv-1"),
			s("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+in+`"}]}]`),
			s("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"`+out+`"}],"finish_reason":"stop"}]`)))
		sp.SpanId = []byte{0, 0, 0, 0, 0, 0, byte(k >> 8), byte(k)}
		sp.StartTimeUnixNano = uint64(time.Now().Add(-time.Minute).UnixNano())
		sp.EndTimeUnixNano = sp.StartTimeUnixNano + uint64(250*time.Millisecond)
		spans[k] = sp
	}
	return export(spans...)
}

// BenchmarkConvert: decoding and converting a protobuf export of 100 spans.
func BenchmarkConvert(b *testing.B) {
	pb, err := proto.Marshal(benchExport(100))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pb)))
	for b.Loop() {
		td, err := otlp.DecodeProtobuf(pb)
		if err != nil {
			b.Fatal(err)
		}
		if ins, _ := otlp.Convert(td, otlp.Options{}); len(ins) != 100 {
			b.Fatal(len(ins))
		}
	}
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "spans/s")
}

// BenchmarkHandler: protobuf exports of 100 GenAI spans over HTTP on
// loopback into a file store with durability always, from 4 clients.
func BenchmarkHandler(b *testing.B) {
	st, err := filestore.Open(b.Context(), b.TempDir(), &filestore.Options{Durability: filestore.Always})
	if err != nil {
		b.Fatal(err)
	}
	logger, err := comply.New(st, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer logger.Close()
	srv, _ := otlptest.Server(b, logger)
	pb, err := proto.Marshal(benchExport(100))
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(2) // 2 x GOMAXPROCS clients
	b.ResetTimer()
	b.RunParallel(func(pb2 *testing.PB) {
		for pb2.Next() {
			resp, err := http.Post(srv.URL+"/v1/traces", otlp.ContentTypeProtobuf, bytes.NewReader(pb))
			if err != nil {
				b.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Error(resp.Status)
				return
			}
		}
	})
	b.ReportMetric(float64(100*b.N)/b.Elapsed().Seconds(), "spans/s")
}
