package otelsdk

import (
	"slices"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm/llmtest"
	"github.com/complyhq/comply/otlp"
	"github.com/complyhq/comply/otlp/otlptest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// TestOTelSDK exports one span per content form and checks each stored
// entry field by field.
func TestOTelSDK(t *testing.T) {
	ctx := t.Context()
	logger := llmtest.MemLogger(t)
	srv, results := otlptest.Server(t, logger)

	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"), otlptracehttp.WithCompression(otlptracehttp.GzipCompression))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithSyncer(exp),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "otelsdk-test"))),
	)
	tracer := tp.Tracer("comply-otelsdk-test")

	const q, a = "What is 2+2?", "4"
	common := []attribute.KeyValue{
		attribute.String("gen_ai.operation.name", "chat"),
		attribute.String("gen_ai.request.model", "gpt-4.1"),
	}
	type want struct {
		provider, model, in, out, content, errType string
		inTok, outTok                              int64
		safetyFailed                               bool
	}
	cases := []struct {
		name string
		emit func(trace.Span)
		want want
	}{
		{"input.messages", func(sp trace.Span) {
			sp.SetAttributes(attribute.String("gen_ai.provider.name", "openai"),
				attribute.String("gen_ai.response.model", "gpt-4.1-2025-04-14"),
				attribute.Int("gen_ai.usage.input_tokens", 9), attribute.Int("gen_ai.usage.output_tokens", 1),
				attribute.String("gen_ai.conversation.id", "conv-1"),
				attribute.String("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+q+`"}]}]`),
				attribute.String("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"text","content":"`+a+`"}],"finish_reason":"stop"}]`),
				attribute.StringSlice("gen_ai.response.finish_reasons", []string{"stop"}))
		}, want{provider: "openai", model: "gpt-4.1-2025-04-14", in: q, out: a, inTok: 9, outTok: 1}},
		{"events", func(sp trace.Span) {
			sp.SetAttributes(attribute.String("gen_ai.system", "anthropic"), attribute.Int("gen_ai.usage.prompt_tokens", 5), attribute.Int("gen_ai.usage.completion_tokens", 2))
			sp.AddEvent("gen_ai.system.message", trace.WithAttributes(attribute.String("content", "Be exact.")))
			sp.AddEvent("gen_ai.user.message", trace.WithAttributes(attribute.String("content", q)))
			sp.AddEvent("gen_ai.choice", trace.WithAttributes(attribute.Int("index", 0), attribute.String("finish_reason", "stop"), attribute.String("message", `{"role":"assistant","content":"`+a+`"}`)))
		}, want{provider: "anthropic", model: "gpt-4.1", in: q, out: a, inTok: 5, outTok: 2}},
		{"indexed", func(sp trace.Span) {
			sp.SetAttributes(attribute.String("gen_ai.system", "openai"),
				attribute.String("gen_ai.prompt.0.role", "user"), attribute.String("gen_ai.prompt.0.content", q),
				attribute.String("gen_ai.completion.0.role", "assistant"), attribute.String("gen_ai.completion.0.content", a))
		}, want{provider: "openai", model: "gpt-4.1", in: q, out: a, inTok: -1, outTok: -1}},
		{"not captured, error", func(sp trace.Span) {
			sp.SetAttributes(attribute.String("gen_ai.provider.name", "openai"), attribute.String("error.type", "timeout"))
			sp.SetStatus(codes.Error, "deadline exceeded")
		}, want{provider: "openai", model: "gpt-4.1", content: otlp.NotCaptured, errType: "timeout", inTok: -1, outTok: -1}},
		{"content filter", func(sp trace.Span) {
			sp.SetAttributes(attribute.String("gen_ai.provider.name", "azure.ai.openai"),
				attribute.String("gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"`+q+`"}]}]`),
				attribute.String("gen_ai.output.messages", `[]`),
				attribute.StringSlice("gen_ai.response.finish_reasons", []string{"content_filter"}))
		}, want{provider: "azure.ai.openai", model: "gpt-4.1", in: q, inTok: -1, outTok: -1, safetyFailed: true}},
	}
	start := time.Now().Add(-time.Second).Truncate(time.Microsecond)
	spanIDs := map[string]string{}
	for i, c := range cases {
		_, sp := tracer.Start(ctx, "chat gpt-4.1", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithTimestamp(start.Add(time.Duration(i)*time.Millisecond)), trace.WithAttributes(common...))
		c.emit(sp)
		spanIDs[c.name] = sp.SpanContext().SpanID().String()
		sp.End(trace.WithTimestamp(start.Add(time.Duration(i)*time.Millisecond + 300*time.Millisecond)))
	}
	// A span of another kind is dropped.
	_, other := tracer.Start(ctx, "GET /health")
	other.End()
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatalf("export: %v", err)
	}

	byspan := map[string]comply.Entry{}
	for e, err := range logger.Entries(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		md, err := e.MetadataMap()
		if err != nil {
			t.Fatal(err)
		}
		byspan[md["span_id"].(string)] = e
	}
	if len(byspan) != len(cases) {
		t.Fatalf("%d entries, want %d; results %+v", len(byspan), len(cases), results())
	}
	dropped := 0
	for _, r := range results() {
		dropped += r.Dropped
	}
	if dropped != 1 {
		t.Errorf("dropped %d spans, want 1", dropped)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, ok := byspan[spanIDs[c.name]]
			if !ok {
				t.Fatal("no entry")
			}
			md, _ := e.MetadataMap()
			w := c.want
			if e.Provider != w.provider || e.Model != w.model {
				t.Errorf("provider %q model %q, want %q %q", e.Provider, e.Model, w.provider, w.model)
			}
			if e.InputHash != logger.Hash(w.in) || e.OutputHash != logger.Hash(w.out) {
				t.Errorf("hashes differ from the hashes of %q and %q", w.in, w.out)
			}
			if !e.Timestamp.Equal(start.Add(time.Duration(i)*time.Millisecond)) || e.LatencyMS != 300 {
				t.Errorf("timestamp %v latency %v", e.Timestamp, e.LatencyMS)
			}
			tok := func(p *int64) int64 {
				if p == nil {
					return -1
				}
				return *p
			}
			if tok(e.InputTokens) != w.inTok || tok(e.OutputTokens) != w.outTok {
				t.Errorf("tokens %d %d, want %d %d", tok(e.InputTokens), tok(e.OutputTokens), w.inTok, w.outTok)
			}
			if got, _ := md["content"].(string); got != w.content {
				t.Errorf("content %q, want %q", got, w.content)
			}
			errMD, _ := md["error"].(map[string]any)
			if got, _ := errMD["error_type"].(string); got != w.errType {
				t.Errorf("error %v, want error_type %q", md["error"], w.errType)
			}
			if e.SafetyPassed == w.safetyFailed {
				t.Errorf("safety_passed %v", e.SafetyPassed)
			}
			if w.safetyFailed && !slices.Equal(e.DetectorsTriggered, []string{"content_filter"}) {
				t.Errorf("detectors %q", e.DetectorsTriggered)
			}
			if md["service.name"] != "otelsdk-test" || len(md["trace_id"].(string)) != 32 {
				t.Errorf("metadata %v", md)
			}
		})
	}
}
