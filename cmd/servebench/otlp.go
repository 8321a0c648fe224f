package main

import (
	"crypto/rand"
	"encoding/json"
	"log"
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// spansBody returns one OTLP/HTTP protobuf export of n chat spans as a
// GenAI instrumentation that captures content writes them: the
// conventions' attributes, the messages as JSON in gen_ai.input.messages
// and gen_ai.output.messages.
func spansBody(n int) []byte {
	msgs := func(role, text string) string {
		b, err := json.Marshal([]map[string]any{{"role": role, "parts": []map[string]string{{"type": "text", "content": text}}}})
		if err != nil {
			log.Fatal(err)
		}
		return string(b)
	}
	str := func(k, v string) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: v}}}
	}
	num := func(k string, v int64) *commonpb.KeyValue {
		return &commonpb.KeyValue{Key: k, Value: &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: v}}}
	}
	in, out := msgs("user", input), msgs("assistant", output)
	trace := make([]byte, 16)
	rand.Read(trace)
	now := time.Now()
	spans := make([]*tracepb.Span, n)
	for i := range spans {
		id := make([]byte, 8)
		rand.Read(id)
		start := now.Add(-time.Duration(n-i) * time.Second)
		spans[i] = &tracepb.Span{
			TraceId: trace, SpanId: id, Name: "chat gpt-4.1", Kind: tracepb.Span_SPAN_KIND_CLIENT,
			StartTimeUnixNano: uint64(start.UnixNano()), EndTimeUnixNano: uint64(start.Add(812 * time.Millisecond).UnixNano()),
			Attributes: []*commonpb.KeyValue{
				str("gen_ai.operation.name", "chat"), str("gen_ai.provider.name", "openai"),
				str("gen_ai.request.model", "gpt-4.1"), str("gen_ai.response.model", "gpt-4.1-2025-04-14"),
				num("gen_ai.usage.input_tokens", 120), num("gen_ai.usage.output_tokens", 380),
				str("gen_ai.conversation.id", "conv-1"),
				str("gen_ai.input.messages", in), str("gen_ai.output.messages", out),
			},
		}
	}
	td := &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{str("service.name", "servebench")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Scope: &commonpb.InstrumentationScope{Name: "servebench"}, Spans: spans}},
	}}}
	b, err := proto.Marshal(td)
	if err != nil {
		log.Fatal(err)
	}
	return b
}
