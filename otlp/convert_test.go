package otlp_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/otlp"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

func now() time.Time { return t0.Add(time.Hour) }

// convertOne converts an export of one span and requires one interaction.
func convertOne(t *testing.T, sp *tracepb.Span) comply.Interaction {
	t.Helper()
	ins, res := otlp.Convert(export(sp), otlp.Options{Now: now})
	if len(ins) != 1 || res.Converted != 1 {
		t.Fatalf("Convert: %d interactions, result %+v", len(ins), res)
	}
	return ins[0]
}

func metadata(t *testing.T, in comply.Interaction) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(in.Metadata.(json.RawMessage), &m); err != nil {
		t.Fatalf("metadata %s: %v", in.Metadata, err)
	}
	return m
}

const (
	question = "What is the capital of France?"
	answer   = "Paris."
	sysText  = "You are terse."
)

// TestContentForms: every form of captured content gives the same
// canonical input and output.
func TestContentForms(t *testing.T) {
	base := []*commonpb.KeyValue{s("gen_ai.operation.name", "chat"), s("gen_ai.provider.name", "openai")}
	with := func(kvs ...*commonpb.KeyValue) []*commonpb.KeyValue { return append(slices.Clone(base), kvs...) }
	newIn := `[{"role":"system","parts":[{"type":"text","content":"` + sysText + `"}]},{"role":"user","parts":[{"type":"text","content":"` + question + `"}]}]`
	newOut := `[{"role":"assistant","parts":[{"type":"text","content":"` + answer + `"}],"finish_reason":"stop"}]`
	structured := arr(kvl(s("role", "user"), kv("parts", arr(kvl(s("type", "text"), s("content", question))))))
	structuredOut := arr(kvl(s("role", "assistant"), kv("parts", arr(kvl(s("type", "text"), s("content", answer)))), s("finish_reason", "stop")))
	tests := []struct {
		name    string
		sp      *tracepb.Span
		in, out string
		inForm  bool // input captured
		outForm bool
	}{
		{"input.messages JSON", span(with(s("gen_ai.input.messages", newIn), s("gen_ai.output.messages", newOut))), question, answer, true, true},
		{"input.messages structured", span(with(kv("gen_ai.input.messages", structured), kv("gen_ai.output.messages", structuredOut))), question, answer, true, true},
		{"operation.details event", span(base, ev("gen_ai.client.inference.operation.details", kv("gen_ai.input.messages", structured), kv("gen_ai.output.messages", structuredOut))), question, answer, true, true},
		{"indexed attributes", span(with(
			s("gen_ai.prompt.0.role", "system"), s("gen_ai.prompt.0.content", sysText),
			s("gen_ai.prompt.1.role", "user"), s("gen_ai.prompt.1.content", question),
			s("gen_ai.completion.0.role", "assistant"), s("gen_ai.completion.0.content", answer), s("gen_ai.completion.0.finish_reason", "stop"))),
			question, answer, true, true},
		{"indexed content parts as JSON", span(with(
			s("gen_ai.prompt.0.role", "user"), s("gen_ai.prompt.0.content", `[{"type":"text","text":"`+question+`"},{"type":"image_url","image_url":{"url":"x"}}]`),
			s("gen_ai.completion.0.content", answer))),
			question, answer, true, true},
		{"message events", span(base,
			ev("gen_ai.system.message", s("content", sysText)),
			ev("gen_ai.user.message", s("content", question)),
			ev("gen_ai.choice", i("index", 0), s("finish_reason", "stop"), kv("message", kvl(s("role", "assistant"), s("content", answer))))),
			question, answer, true, true},
		{"message events, gen_ai.event.content", span(base,
			ev("gen_ai.user.message", s("gen_ai.event.content", `{"content":"`+question+`"}`)),
			ev("gen_ai.choice", s("gen_ai.event.content", `{"index":0,"finish_reason":"stop","message":{"content":"`+answer+`"}}`))),
			question, answer, true, true},
		{"gen_ai.prompt attribute", span(with(s("gen_ai.prompt", `[{"role":"user","content":"`+question+`"}]`), s("gen_ai.completion", `[{"role":"assistant","content":"`+answer+`"}]`))), question, answer, true, true},
		{"gen_ai.content events", span(base,
			ev("gen_ai.content.prompt", s("gen_ai.prompt", `[{"role":"user","content":"`+question+`"}]`)),
			ev("gen_ai.content.completion", s("gen_ai.completion", answer))),
			question, answer, true, true},
		{"gen_ai.prompt, Python repr", span(with(s("gen_ai.prompt", "[{'role': 'user'}]"))), "[{'role': 'user'}]", "", true, false},
		{"nothing captured", span(base), "", "", false, false},
		{"input only", span(with(s("gen_ai.input.messages", newIn))), question, "", true, false},
		{"system instructions only", span(with(s("gen_ai.system_instructions", `[{"type":"text","content":"x"}]`))), "", "", true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := convertOne(t, tt.sp)
			if in.Input != tt.in || in.Output != tt.out {
				t.Errorf("input %q output %q, want %q %q", in.Input, in.Output, tt.in, tt.out)
			}
			md := metadata(t, in)
			want := map[[2]bool]any{{true, true}: nil, {false, false}: otlp.NotCaptured, {true, false}: otlp.OutputNotCaptured, {false, true}: otlp.InputNotCaptured}[[2]bool{tt.inForm, tt.outForm}]
			if md["content"] != want {
				t.Errorf("content %v, want %v", md["content"], want)
			}
			hasAlert := slices.ContainsFunc(in.Alerts, func(a string) bool { return strings.Contains(a, "not captured") })
			if hasAlert != (want != nil) {
				t.Errorf("alerts %q", in.Alerts)
			}
		})
	}
}

// TestToolCallForms: tool calls render as the llm package renders them,
// whichever form carried them.
func TestToolCallForms(t *testing.T) {
	const want = `{"type":"tool_call","name":"get_weather","arguments":"{\"city\":\"Paris\"}"}`
	base := []*commonpb.KeyValue{s("gen_ai.operation.name", "chat"), s("gen_ai.system", "openai")}
	with := func(kvs ...*commonpb.KeyValue) []*commonpb.KeyValue { return append(slices.Clone(base), kvs...) }
	tests := []struct {
		name string
		sp   *tracepb.Span
	}{
		{"output.messages, object arguments", span(with(s("gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_weather","arguments":{"city": "Paris"}}],"finish_reason":"tool_calls"}]`)))},
		{"indexed", span(with(s("gen_ai.completion.0.tool_calls.0.name", "get_weather"), s("gen_ai.completion.0.tool_calls.0.arguments", `{"city": "Paris"}`)))},
		{"indexed function_call", span(with(s("gen_ai.completion.0.function_call.name", "get_weather"), s("gen_ai.completion.0.function_call.arguments", `{"city":"Paris"}`)))},
		{"choice event", span(base, ev("gen_ai.choice", s("tool_calls", `[{"id":"c1","type":"function","function":{"name":"get_weather","arguments":"{\"city\": \"Paris\"}"}}]`)))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ins, _ := otlp.Convert(export(tt.sp), otlp.Options{Now: now, Hash: func(s string) string { return "h(" + s + ")" }})
			if len(ins) != 1 || ins[0].Output != want {
				t.Fatalf("output %q, want %q", ins[0].Output, want)
			}
			calls, _ := metadata(t, ins[0])["tool_calls"].([]any)
			if len(calls) != 1 || calls[0].(map[string]any)["arguments_hash"] != `h({"city":"Paris"})` {
				t.Errorf("tool_calls %v", calls)
			}
		})
	}
}

// TestFieldForms: each form of each field.
func TestFieldForms(t *testing.T) {
	op := s("gen_ai.operation.name", "chat")
	tests := []struct {
		name  string
		kvs   []*commonpb.KeyValue
		check func(t *testing.T, in comply.Interaction, md map[string]any)
	}{
		{"provider.name over system", attrs(op, s("gen_ai.provider.name", "anthropic"), s("gen_ai.system", "openai")), func(t *testing.T, in comply.Interaction, _ map[string]any) {
			if in.Provider != "anthropic" {
				t.Errorf("provider %q", in.Provider)
			}
		}},
		{"system, renamed and capitalized", attrs(s("gen_ai.system", "AZ.AI.OpenAI")), func(t *testing.T, in comply.Interaction, _ map[string]any) {
			if in.Provider != "azure.ai.openai" {
				t.Errorf("provider %q", in.Provider)
			}
		}},
		{"response model over request model", attrs(op, s("gen_ai.request.model", "gpt-4.1"), s("gen_ai.response.model", "gpt-4.1-2025-04-14")), func(t *testing.T, in comply.Interaction, md map[string]any) {
			if in.Model != "gpt-4.1-2025-04-14" || md["requested_model"] != "gpt-4.1" {
				t.Errorf("model %q, requested %v", in.Model, md["requested_model"])
			}
		}},
		{"request model", attrs(op, s("gen_ai.request.model", "gpt-4.1")), func(t *testing.T, in comply.Interaction, md map[string]any) {
			if in.Model != "gpt-4.1" || md["requested_model"] != nil {
				t.Errorf("model %q, requested %v", in.Model, md["requested_model"])
			}
		}},
		{"input/output tokens", attrs(op, i("gen_ai.usage.input_tokens", 9), i("gen_ai.usage.output_tokens", 12), i("gen_ai.usage.prompt_tokens", 1)), func(t *testing.T, in comply.Interaction, _ map[string]any) {
			if *in.InputTokens != 9 || *in.OutputTokens != 12 {
				t.Errorf("tokens %d %d", *in.InputTokens, *in.OutputTokens)
			}
		}},
		{"prompt/completion tokens", attrs(op, i("gen_ai.usage.prompt_tokens", 9), s("gen_ai.usage.completion_tokens", "12")), func(t *testing.T, in comply.Interaction, _ map[string]any) {
			if *in.InputTokens != 9 || *in.OutputTokens != 12 {
				t.Errorf("tokens %d %d", *in.InputTokens, *in.OutputTokens)
			}
		}},
		{"no tokens, negative tokens", attrs(op, i("gen_ai.usage.output_tokens", -3)), func(t *testing.T, in comply.Interaction, _ map[string]any) {
			if in.InputTokens != nil || in.OutputTokens != nil || len(in.Alerts) < 2 {
				t.Errorf("tokens %v %v alerts %q", in.InputTokens, in.OutputTokens, in.Alerts)
			}
		}},
		{"conversation, time, latency, ids", attrs(op, s("gen_ai.conversation.id", "conv-1")), func(t *testing.T, in comply.Interaction, md map[string]any) {
			if in.ConversationID != "conv-1" || !in.Time.Equal(t0) || in.Latency != 250*time.Millisecond {
				t.Errorf("conversation %q time %v latency %v", in.ConversationID, in.Time, in.Latency)
			}
			if md["trace_id"] != "5b8efff798038103d269b633813fc60c" || md["span_id"] != "eee19b7ec3c1b174" || md["service.name"] != "svc" || md["span_name"] != "chat gpt-4.1" {
				t.Errorf("metadata %v", md)
			}
		}},
		{"user, session, request params", attrs(op, s("user.id", "u1"), s("session.id", "s1"), s("enduser.id", "e1"), kv("gen_ai.request.temperature", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.5}}), i("gen_ai.request.max_tokens", 100), s("gen_ai.response.id", "chatcmpl-1"), kv("gen_ai.response.finish_reasons", arr(sv("stop")))), func(t *testing.T, _ comply.Interaction, md map[string]any) {
			if md["user.id"] != "u1" || md["session.id"] != "s1" || md["enduser.id"] != "e1" || md["gen_ai.request.temperature"] != 0.5 ||
				md["gen_ai.request.max_tokens"] != 100.0 || md["response_id"] != "chatcmpl-1" || md["gen_ai.operation.name"] != "chat" {
				t.Errorf("metadata %v", md)
			}
			if fs, _ := md["finish_reasons"].([]any); len(fs) != 1 || fs[0] != "stop" {
				t.Errorf("finish_reasons %v", md["finish_reasons"])
			}
		}},
		{"error.type", attrs(op, s("error.type", "429")), func(t *testing.T, in comply.Interaction, md map[string]any) {
			e, _ := md["error"].(map[string]any)
			if in.SafetyFailed || e["type"] != "span" || e["error_type"] != "429" || e["message"] != "otlp: error 429" || !slices.Contains(in.Alerts, "otlp: error 429") {
				t.Errorf("error %v alerts %q", md["error"], in.Alerts)
			}
		}},
		{"content_filter finish", attrs(op, kv("gen_ai.response.finish_reasons", arr(sv("content_filter")))), func(t *testing.T, in comply.Interaction, md map[string]any) {
			if !in.SafetyFailed || !slices.Equal(in.DetectorsTriggered, []string{"content_filter"}) || in.BlockReason != "finish_reason: content_filter" || md["error"] != nil {
				t.Errorf("safety %v %q %q", in.SafetyFailed, in.DetectorsTriggered, in.BlockReason)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := convertOne(t, span(tt.kvs))
			tt.check(t, in, metadata(t, in))
		})
	}
}

// TestSpanStatusAndGuardrail: a span with status ERROR and an exception
// event records an error; a guardrail event is a safety outcome.
func TestSpanStatusAndGuardrail(t *testing.T) {
	sp := span(attrs(s("gen_ai.operation.name", "chat")), ev("exception", s("exception.type", "RateLimitError"), s("exception.message", "slow down")))
	sp.Status = &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR}
	in := convertOne(t, sp)
	if e, _ := metadata(t, in)["error"].(map[string]any); e["message"] != "otlp: RateLimitError: slow down" || in.SafetyFailed {
		t.Errorf("error %v", e)
	}
	sp = span(attrs(s("gen_ai.operation.name", "chat")), ev("gen_ai.guardrail", s("gen_ai.guardrail.name", "pii"), s("reason", "email address")))
	in = convertOne(t, sp)
	if !in.SafetyFailed || !slices.Equal(in.DetectorsTriggered, []string{"pii"}) || in.BlockReason != "guardrail: pii: email address" {
		t.Errorf("guardrail: %v %q %q", in.SafetyFailed, in.DetectorsTriggered, in.BlockReason)
	}
}

// TestDropAndReject: non-GenAI spans are dropped; spans in the future or
// without a start time are rejected.
func TestDropAndReject(t *testing.T) {
	gen := attrs(s("gen_ai.operation.name", "chat"))
	future := span(gen)
	future.StartTimeUnixNano = uint64(now().Add(2 * comply.MaxFutureSkew).UnixNano())
	future.EndTimeUnixNano = future.StartTimeUnixNano + 1
	noStart := span(gen)
	noStart.StartTimeUnixNano = 0
	backwards := span(gen)
	backwards.EndTimeUnixNano = backwards.StartTimeUnixNano - 1
	ins, res := otlp.Convert(export(span(attrs(s("http.method", "GET"))), future, noStart, span(gen), backwards), otlp.Options{Now: now})
	want := otlp.Result{Spans: 5, Converted: 2, Dropped: 1, Rejected: 2}
	why := res.RejectedWhy
	res.RejectedWhy = ""
	if res != want || len(ins) != 2 || !strings.Contains(why, "in the future") {
		t.Errorf("result %+v (%q), want %+v", res, why, want)
	}
	if ins[1].Latency != 0 || len(ins[1].Alerts) == 0 {
		t.Errorf("backwards span: latency %v alerts %q", ins[1].Latency, ins[1].Alerts)
	}
}
