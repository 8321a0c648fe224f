package otlp_test

import (
	"time"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// t0 is the start of the test spans.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func sv(s string) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
}

func iv(n int64) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: n}}
}

func arr(vs ...*commonpb.AnyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{Values: vs}}}
}

func kvl(kvs ...*commonpb.KeyValue) *commonpb.AnyValue {
	return &commonpb.AnyValue{Value: &commonpb.AnyValue_KvlistValue{KvlistValue: &commonpb.KeyValueList{Values: kvs}}}
}

func kv(k string, v *commonpb.AnyValue) *commonpb.KeyValue {
	return &commonpb.KeyValue{Key: k, Value: v}
}

func s(k, v string) *commonpb.KeyValue { return kv(k, sv(v)) }

func i(k string, n int64) *commonpb.KeyValue { return kv(k, iv(n)) }

func ev(name string, kvs ...*commonpb.KeyValue) *tracepb.Span_Event {
	return &tracepb.Span_Event{Name: name, TimeUnixNano: uint64(t0.UnixNano()), Attributes: kvs}
}

// span returns a span of 250 ms from t0 with the attributes and events.
func span(kvs []*commonpb.KeyValue, evs ...*tracepb.Span_Event) *tracepb.Span {
	return &tracepb.Span{
		TraceId:           []byte{0x5b, 0x8e, 0xff, 0xf7, 0x98, 0x03, 0x81, 0x03, 0xd2, 0x69, 0xb6, 0x33, 0x81, 0x3f, 0xc6, 0x0c},
		SpanId:            []byte{0xee, 0xe1, 0x9b, 0x7e, 0xc3, 0xc1, 0xb1, 0x74},
		Name:              "chat gpt-4.1",
		Kind:              tracepb.Span_SPAN_KIND_CLIENT,
		StartTimeUnixNano: uint64(t0.UnixNano()),
		EndTimeUnixNano:   uint64(t0.Add(250 * time.Millisecond).UnixNano()),
		Attributes:        kvs,
		Events:            evs,
	}
}

// export returns an export of the spans from service "svc".
func export(spans ...*tracepb.Span) *tracepb.TracesData {
	return &tracepb.TracesData{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource:   &resourcepb.Resource{Attributes: []*commonpb.KeyValue{s("service.name", "svc")}},
		ScopeSpans: []*tracepb.ScopeSpans{{Spans: spans}},
	}}}
}

func attrs(kvs ...*commonpb.KeyValue) []*commonpb.KeyValue { return kvs }
