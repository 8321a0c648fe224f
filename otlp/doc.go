// Package otlp turns OpenTelemetry traces into comply entries: it reads
// OTLP/HTTP trace exports (protobuf or JSON) and maps each span that
// follows the OpenTelemetry GenAI semantic conventions to a
// comply.Interaction. Handler serves the OTLP/HTTP endpoint (POST
// /v1/traces) over a Logger; Convert is the mapping alone.
//
//	h := &otlp.Handler{
//		Log: func(ctx context.Context, ins []comply.Interaction) ([]string, error) {
//			return logger.LogBatch(ctx, ins...)
//		},
//		Options: otlp.Options{Hash: logger.Hash},
//	}
//	http.Handle("POST /v1/traces", h)
//
// # Which spans
//
// A GenAI span is one with gen_ai.operation.name, gen_ai.provider.name or
// the older gen_ai.system. Other spans are counted (Result.Dropped) and
// dropped. The messages are decoded into a TracesData, which has the wire
// form of an ExportTraceServiceRequest, so that gRPC is not a dependency.
//
// # The mapping
//
// The names are those of the GenAI conventions as of semconv v1.41.0, and
// the older forms instrumentations still emit. provider is
// gen_ai.provider.name, else gen_ai.system (lower case; renamed values in
// their current name); model is gen_ai.response.model, else
// gen_ai.request.model; tokens are gen_ai.usage.input_tokens and
// output_tokens, else the older prompt_tokens and completion_tokens;
// conversation_id is gen_ai.conversation.id; latency is the span's
// duration and the entry's time is the span's start (a backfill, see
// comply.Interaction.Time). A span starting more than
// comply.MaxFutureSkew after now, or with no start time, is rejected.
//
// The content comes from the first form that a span carries, newest
// first: the gen_ai.input.messages and gen_ai.output.messages attributes
// (JSON text or structured), the same on a
// gen_ai.client.inference.operation.details event, OpenLLMetry's indexed
// attributes gen_ai.prompt.N.role/content and gen_ai.completion.N.*, the
// message events (gen_ai.system.message, gen_ai.user.message,
// gen_ai.assistant.message, gen_ai.tool.message, gen_ai.choice), and the
// first conventions' gen_ai.prompt and gen_ai.completion (on the span or
// on gen_ai.content.prompt and gen_ai.content.completion events).
//
// Whatever the form, the input and output recorded are the same canonical
// text, the one the llm package records for the same call, so that an
// exchange hashes the same whether the proxy saw it or an instrumentation
// reported it: the input is the text of the last user message (its text
// parts joined by "\n"); the output is the text of each output message,
// joined by "\n", then one line per tool call,
// {"type":"tool_call","name":NAME,"arguments":ARGS} (see package llm).
//
// A span that carries no content (an instrumentation not set to capture
// it) still becomes an entry, but its input and output hashes are then
// hashes of "": the metadata says so with "content": "not captured" (or
// "input not captured", "output not captured"), and an alert repeats it.
//
// A span that ended in an error (status ERROR, or an error.type
// attribute) is not a safety failure: its metadata has "error": {"type":
// "span", "error_type": ..., "message": ...}, as the llm package records a
// failed call, and comply stats counts it. A content_filter finish reason
// and a guardrail event are safety outcomes: safety_passed false, the
// detector, and a block_reason.
//
// The metadata holds trace_id, span_id and parent_span_id (hex),
// span_name, the resource's service.name, some span attributes under
// their own names (gen_ai.operation.name, gen_ai.request.*, user.id,
// session.id, enduser.id, ...), and comply's own keys response_id,
// requested_model, finish_reasons, tool_calls, content and error.
// docs/format.md ("OTLP GenAI spans -> entries") lists them.
package otlp
