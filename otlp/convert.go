package otlp

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/internal/line"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// Options tune Convert. The zero value is ready to use.
type Options struct {
	// Now is the current time, for the check of spans dated in the
	// future; nil means time.Now.
	Now func() time.Time

	// Hash, if set, hashes the arguments of each tool call into the
	// "tool_calls" metadata, as the llm package does: pass the Logger's
	// Hash method.
	Hash func(string) string
}

// A Result counts what Convert did with the spans of one export.
type Result struct {
	Spans     int // spans in the export
	Converted int // GenAI spans converted to interactions
	Dropped   int // spans that are not GenAI spans
	Rejected  int // GenAI spans that cannot be entries (see RejectedWhy)

	// RejectedWhy says why the first rejected span was rejected, without
	// any of its content; "" when none was.
	RejectedWhy string
}

func (r *Result) reject(why string) {
	r.Rejected++
	if r.RejectedWhy == "" {
		r.RejectedWhy = why
	}
}

// Values of the "content" metadata of an entry whose span did not carry
// the messages (the instrumentation was not set to capture content): its
// input_hash, output_hash, or both, are hashes of "", not of a real
// exchange.
const (
	NotCaptured       = "not captured"
	InputNotCaptured  = "input not captured"
	OutputNotCaptured = "output not captured"
)

// ErrorSpan is the "type" of the "error" metadata of an entry whose span
// ended in an error (status ERROR, or an error.type attribute).
const ErrorSpan = "span"

// maxErrorMessage bounds the error message recorded, as the llm package
// bounds its own.
const maxErrorMessage = 500

// Convert maps the GenAI spans of one export to interactions, in the order
// of the export; docs/format.md ("OTLP GenAI spans") describes the
// mapping. Spans that are not GenAI spans are dropped, and spans that
// cannot be entries (dated more than comply.MaxFutureSkew after now, or
// without a start time) are rejected; the Result counts both.
func Convert(td *tracepb.TracesData, opts Options) ([]comply.Interaction, Result) {
	ins, _, res := convert(td, opts)
	return ins, res
}

// convert is Convert, with the first rejected reason of each span that
// was not converted left out and the index of each interaction's span.
func convert(td *tracepb.TracesData, opts Options) ([]comply.Interaction, []int, Result) {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	limit := now().Add(comply.MaxFutureSkew)
	var res Result
	var ins []comply.Interaction
	var spans []int
	for _, rs := range td.GetResourceSpans() {
		service := index(rs.GetResource().GetAttributes()).str("service.name")
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				res.Spans++
				a := index(sp.GetAttributes())
				if !isGenAI(a) {
					res.Dropped++
					continue
				}
				in, why := interaction(sp, a, service, limit, opts)
				if why != "" {
					res.reject(why)
					continue
				}
				res.Converted++
				ins = append(ins, in)
				spans = append(spans, res.Spans-1)
			}
		}
	}
	return ins, spans, res
}

// isGenAI reports whether a span follows the GenAI conventions: it names
// its operation or its provider.
func isGenAI(a attrs) bool {
	_, op := a["gen_ai.operation.name"]
	_, prov := a["gen_ai.provider.name"]
	_, sys := a["gen_ai.system"]
	return op || prov || sys
}

// providerRenames are the provider names the conventions renamed.
var providerRenames = map[string]string{
	"vertex_ai":       "gcp.vertex_ai",
	"gemini":          "gcp.gemini",
	"az.ai.inference": "azure.ai.inference",
	"az.ai.openai":    "azure.ai.openai",
	"xai":             "x_ai",
}

// provider returns the span's provider: gen_ai.provider.name, else the
// older gen_ai.system, in lower case, with the names the conventions
// renamed in their current form.
func provider(a attrs) string {
	p := a.str("gen_ai.provider.name")
	if p == "" {
		p = a.str("gen_ai.system")
	}
	p = strings.ToLower(p)
	if r, ok := providerRenames[p]; ok {
		return r
	}
	return p
}

// copied are the span attributes the metadata keeps under their own
// names, when they are strings, numbers, booleans or arrays of those.
var copied = []string{
	"gen_ai.operation.name",
	"gen_ai.agent.id", "gen_ai.agent.name",
	"gen_ai.tool.name", "gen_ai.tool.call.id",
	"gen_ai.output.type",
	"user.id", "session.id", "enduser.id", "enduser.pseudo.id",
	"server.address", "server.port",
}

// interaction builds the interaction of one GenAI span, or says why it
// cannot be one.
func interaction(sp *tracepb.Span, a attrs, service string, limit time.Time, opts Options) (comply.Interaction, string) {
	var in comply.Interaction
	start, end := sp.GetStartTimeUnixNano(), sp.GetEndTimeUnixNano()
	if start == 0 {
		return in, "a GenAI span has no start time"
	}
	if start > 1<<63-1 {
		return in, "a GenAI span starts after the year 2262"
	}
	in.Time = time.Unix(0, int64(start))
	if in.Time.After(limit) {
		return in, fmt.Sprintf("a GenAI span starts at %s, more than %s in the future",
			in.Time.UTC().Format(time.RFC3339Nano), comply.MaxFutureSkew)
	}
	if end >= start {
		in.Latency = time.Duration(end - start)
	} else {
		in.Alerts = append(in.Alerts, "otlp: the span ends before it starts: latency recorded as 0")
	}

	in.Provider = provider(a)
	reqModel, respModel := a.str("gen_ai.request.model"), a.str("gen_ai.response.model")
	in.Model = respModel
	if in.Model == "" {
		in.Model = reqModel
	}
	in.ConversationID = a.str("gen_ai.conversation.id")
	in.InputTokens = tokens(a, &in, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
	in.OutputTokens = tokens(a, &in, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")

	c := extract(a, sp.GetEvents())
	in.Input, in.Output = inputText(c.in), outputText(c.out)

	md := &object{}
	md.add("trace_id", hex.EncodeToString(sp.GetTraceId()))
	md.add("span_id", hex.EncodeToString(sp.GetSpanId()))
	if p := sp.GetParentSpanId(); len(p) > 0 {
		md.add("parent_span_id", hex.EncodeToString(p))
	}
	md.add("span_name", sp.GetName())
	if service != "" {
		md.add("service.name", service)
	}
	for _, k := range copied {
		if v, ok := a[k]; ok && scalar(v) {
			md.add(k, goValue(v))
		}
	}
	for _, kv := range sp.GetAttributes() {
		if strings.HasPrefix(kv.GetKey(), "gen_ai.request.") && kv.GetKey() != "gen_ai.request.model" && scalar(kv.GetValue()) {
			md.addOnce(kv.GetKey(), goValue(kv.GetValue()))
		}
	}
	if id := a.str("gen_ai.response.id"); id != "" {
		md.add("response_id", id)
	}
	if respModel != "" && reqModel != "" && respModel != reqModel {
		md.add("requested_model", reqModel)
	}
	finishes := finishReasons(a, c.out)
	if len(finishes) > 0 {
		md.add("finish_reasons", finishes)
	}
	if opts.Hash != nil {
		var calls []map[string]string
		for _, m := range c.out {
			for _, tc := range m.calls {
				calls = append(calls, map[string]string{"name": tc.name, "arguments_hash": opts.Hash(tc.args)})
			}
		}
		if len(calls) > 0 {
			md.add("tool_calls", calls)
		}
	}
	switch {
	case !c.inCaptured && !c.outCaptured:
		md.add("content", NotCaptured)
	case !c.inCaptured:
		md.add("content", InputNotCaptured)
	case !c.outCaptured:
		md.add("content", OutputNotCaptured)
	}
	if v, ok := md.get("content"); ok {
		in.Alerts = append(in.Alerts, fmt.Sprintf("otlp: content %s by the instrumentation: its hash is the hash of an empty string", v))
	}
	if e := spanError(sp, a); e != nil {
		md.add("error", e)
		in.Alerts = append(in.Alerts, e["message"].(string))
	}
	safety(&in, sp.GetEvents(), finishes)
	in.Metadata = md.raw()
	return in, ""
}

// tokens returns the first of keys that holds a count. A negative count
// is left out, with an alert.
func tokens(a attrs, in *comply.Interaction, keys ...string) *int64 {
	for _, k := range keys {
		if n, ok := a.int(k); ok {
			if n < 0 {
				in.Alerts = append(in.Alerts, fmt.Sprintf("otlp: %s is negative (%d): not recorded", k, n))
				return nil
			}
			return &n
		}
	}
	return nil
}

// finishReasons returns the span's finish reasons:
// gen_ai.response.finish_reasons, else those of its output messages.
func finishReasons(a attrs, out []message) []string {
	if fs := a.strings("gen_ai.response.finish_reasons"); len(fs) > 0 {
		return fs
	}
	var fs []string
	for _, m := range out {
		if m.finish != "" {
			fs = append(fs, m.finish)
		}
	}
	return fs
}

// spanError returns the "error" metadata of a span that ended in an error
// (status ERROR, or an error.type attribute), or nil: {"type": "span",
// "error_type": E, "message": M}, E the error.type attribute when set, M
// the status message, else the message of the span's exception event,
// else a sentence built from E.
func spanError(sp *tracepb.Span, a attrs) map[string]any {
	errType := a.str("error.type")
	failed := sp.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR
	if !failed && errType == "" {
		return nil
	}
	msg := sp.GetStatus().GetMessage()
	if msg == "" {
		for _, ev := range sp.GetEvents() {
			if ev.GetName() == "exception" {
				ea := index(ev.GetAttributes())
				msg = strings.TrimPrefix(ea.str("exception.type")+": "+ea.str("exception.message"), ": ")
				break
			}
		}
	}
	if msg == "" && errType != "" {
		msg = "error " + errType
	}
	if msg == "" {
		msg = "span status ERROR"
	}
	msg = "otlp: " + truncate(msg, maxErrorMessage)
	e := map[string]any{"type": ErrorSpan, "message": msg}
	if errType != "" {
		e["error_type"] = errType
	}
	return e
}

// truncate cuts s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// safety sets the safety fields: a content_filter finish reason, as the
// llm package records it, and each guardrail event (a span event whose
// name begins with gen_ai.guardrail, or contains "guardrail").
func safety(in *comply.Interaction, events []*tracepb.Span_Event, finishes []string) {
	var blocks []string
	for _, f := range finishes {
		if f == "content_filter" {
			in.SafetyFailed = true
			in.DetectorsTriggered = appendOnce(in.DetectorsTriggered, "content_filter")
			blocks = appendOnce(blocks, "finish_reason: content_filter")
		}
	}
	for _, ev := range events {
		name := ev.GetName()
		if !strings.Contains(strings.ToLower(name), "guardrail") {
			continue
		}
		ea := index(ev.GetAttributes())
		det := name
		for _, k := range []string{"gen_ai.guardrail.name", "guardrail.name", "name"} {
			if s := ea.str(k); s != "" {
				det = s
				break
			}
		}
		in.SafetyFailed = true
		in.DetectorsTriggered = appendOnce(in.DetectorsTriggered, det)
		reason := "guardrail: " + det
		for _, k := range []string{"gen_ai.guardrail.reason", "reason", "message"} {
			if s := ea.str(k); s != "" {
				reason += ": " + truncate(s, maxErrorMessage)
				break
			}
		}
		blocks = appendOnce(blocks, reason)
	}
	in.BlockReason = strings.Join(blocks, "; ")
}

func appendOnce(ss []string, s string) []string {
	for _, x := range ss {
		if x == s {
			return ss
		}
	}
	return append(ss, s)
}

// An object is a JSON object built key by key, in order.
type object struct {
	keys []string
	vals []any
}

func (o *object) add(k string, v any) {
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

func (o *object) addOnce(k string, v any) {
	if _, ok := o.get(k); !ok {
		o.add(k, v)
	}
}

func (o *object) get(k string) (any, bool) {
	for i, x := range o.keys {
		if x == k {
			return o.vals[i], true
		}
	}
	return nil, false
}

// raw returns the object as JSON text, in the entry line's encoding.
func (o *object) raw() json.RawMessage {
	b := []byte{'{'}
	for i, k := range o.keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = line.AppendString(b, k)
		b = append(b, ':')
		v, err := json.Marshal(o.vals[i])
		if err != nil {
			v = []byte("null")
		}
		b = append(b, v...)
	}
	return append(b, '}')
}
