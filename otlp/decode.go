package otlp

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// ErrDecode is wrapped by the errors of DecodeProtobuf and DecodeJSON: the
// body is not an OTLP trace export.
var ErrDecode = errors.New("otlp: malformed export")

// DecodeProtobuf decodes an OTLP/HTTP protobuf trace export. An
// ExportTraceServiceRequest and a TracesData have the same wire form
// (resource_spans is field 1 of both), so the request decodes into a
// TracesData without the collector package, which would bring in gRPC.
func DecodeProtobuf(b []byte) (*tracepb.TracesData, error) {
	td := &tracepb.TracesData{}
	if err := proto.Unmarshal(b, td); err != nil {
		return nil, fmt.Errorf("%w: protobuf: %w", ErrDecode, err)
	}
	return td, nil
}

// DecodeJSON decodes an OTLP/HTTP JSON trace export. OTLP's JSON is
// protobuf's JSON mapping with three differences, which it handles: trace
// and span ids are hex strings (not base64), enums may be integers, and
// field names are lowerCamelCase (the original snake_case names are
// accepted too). Unknown fields are ignored, as the OTLP specification
// requires of receivers. An id that is not hex of the right length is an
// error.
func DecodeJSON(b []byte) (*tracepb.TracesData, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: json: %w", ErrDecode, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: json: data after the object", ErrDecode)
	}
	root, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: json: not an object", ErrDecode)
	}
	if err := rewriteIDs(root); err != nil {
		return nil, err
	}
	b, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("%w: json: %w", ErrDecode, err)
	}
	td := &tracepb.TracesData{}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, td); err != nil {
		return nil, fmt.Errorf("%w: json: %w", ErrDecode, err)
	}
	return td, nil
}

// rewriteIDs turns the hex ids of the spans and links under root into the
// base64 that protojson reads.
func rewriteIDs(root map[string]any) error {
	for _, rs := range objects(root, "resourceSpans", "resource_spans") {
		for _, ss := range objects(rs, "scopeSpans", "scope_spans") {
			for _, sp := range objects(ss, "spans") {
				if err := rewriteID(sp, 16, "traceId", "trace_id"); err != nil {
					return err
				}
				if err := rewriteID(sp, 8, "spanId", "span_id", "parentSpanId", "parent_span_id"); err != nil {
					return err
				}
				for _, l := range objects(sp, "links") {
					if err := rewriteID(l, 16, "traceId", "trace_id"); err != nil {
						return err
					}
					if err := rewriteID(l, 8, "spanId", "span_id"); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// objects returns the objects of the array at the first of keys present in
// m. Values of another shape are left for protojson to refuse.
func objects(m map[string]any, keys ...string) []map[string]any {
	var out []map[string]any
	for _, k := range keys {
		arr, ok := m[k].([]any)
		if !ok {
			continue
		}
		for _, e := range arr {
			if o, ok := e.(map[string]any); ok {
				out = append(out, o)
			}
		}
	}
	return out
}

// rewriteID replaces the hex id at each of keys in m, n bytes long, by its
// base64. An empty string stays empty.
func rewriteID(m map[string]any, n int, keys ...string) error {
	for _, k := range keys {
		v, ok := m[k]
		if !ok {
			continue
		}
		s, ok := v.(string)
		if !ok {
			continue // protojson refuses it
		}
		if s == "" {
			continue
		}
		b, err := hex.DecodeString(s)
		if err != nil || len(b) != n {
			return fmt.Errorf("%w: json: %s is not %d bytes of hex", ErrDecode, k, n)
		}
		m[k] = base64.StdEncoding.EncodeToString(b)
	}
	return nil
}
