package otlp

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"

	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
)

// attrs indexes a list of attributes by key; the last of a repeated key
// wins.
type attrs map[string]*commonpb.AnyValue

func index(kvs []*commonpb.KeyValue) attrs {
	m := make(attrs, len(kvs))
	for _, kv := range kvs {
		if kv != nil && kv.Value != nil {
			m[kv.Key] = kv.Value
		}
	}
	return m
}

// str returns the attribute as a string: a string value, or "" for any
// other type.
func (a attrs) str(key string) string {
	if v, ok := a[key].GetValue().(*commonpb.AnyValue_StringValue); ok {
		return v.StringValue
	}
	return ""
}

// int returns the attribute as an integer: an int, a double that is a
// whole number, or a string of digits (some instrumentations write counts
// as strings).
func (a attrs) int(key string) (int64, bool) {
	switch v := a[key].GetValue().(type) {
	case *commonpb.AnyValue_IntValue:
		return v.IntValue, true
	case *commonpb.AnyValue_DoubleValue:
		if f := v.DoubleValue; f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			return int64(f), true
		}
	case *commonpb.AnyValue_StringValue:
		if n, err := strconv.ParseInt(v.StringValue, 10, 64); err == nil {
			return n, true
		}
	}
	return 0, false
}

// strings returns the attribute as a list of strings: an array's string
// values, or a single string.
func (a attrs) strings(key string) []string {
	switch v := a[key].GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return []string{v.StringValue}
	case *commonpb.AnyValue_ArrayValue:
		var out []string
		for _, e := range v.ArrayValue.GetValues() {
			if s, ok := e.GetValue().(*commonpb.AnyValue_StringValue); ok {
				out = append(out, s.StringValue)
			}
		}
		return out
	}
	return nil
}

// goValue returns v as a value encoding/json writes: string, bool, int64,
// float64, []any, map[string]any, or nil. Bytes become base64, as in OTLP
// JSON. A double that JSON cannot hold (NaN, infinity) becomes its name
// as a string.
func goValue(v *commonpb.AnyValue) any {
	switch v := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue:
		return v.StringValue
	case *commonpb.AnyValue_BoolValue:
		return v.BoolValue
	case *commonpb.AnyValue_IntValue:
		return v.IntValue
	case *commonpb.AnyValue_DoubleValue:
		if math.IsNaN(v.DoubleValue) || math.IsInf(v.DoubleValue, 0) {
			return strconv.FormatFloat(v.DoubleValue, 'g', -1, 64)
		}
		return v.DoubleValue
	case *commonpb.AnyValue_BytesValue:
		return base64.StdEncoding.EncodeToString(v.BytesValue)
	case *commonpb.AnyValue_ArrayValue:
		vals := v.ArrayValue.GetValues()
		out := make([]any, len(vals))
		for i, e := range vals {
			out[i] = goValue(e)
		}
		return out
	case *commonpb.AnyValue_KvlistValue:
		kvs := v.KvlistValue.GetValues()
		out := make(map[string]any, len(kvs))
		for _, kv := range kvs {
			if kv != nil {
				out[kv.Key] = goValue(kv.Value)
			}
		}
		return out
	}
	return nil
}

// jsonOf returns the JSON text an attribute holds: a string attribute is
// taken as JSON text (instrumentations that cannot record structured
// values record them as JSON strings), any other value is encoded. The
// caller's decoding tells whether a string was JSON.
func jsonOf(v *commonpb.AnyValue) []byte {
	if s, isStr := v.GetValue().(*commonpb.AnyValue_StringValue); isStr {
		return []byte(s.StringValue)
	}
	b, err := json.Marshal(goValue(v))
	if err != nil {
		return nil
	}
	return b
}

// scalar reports whether v is a value metadata copies: a string, bool,
// number or an array of those.
func scalar(v *commonpb.AnyValue) bool {
	switch v := v.GetValue().(type) {
	case *commonpb.AnyValue_StringValue, *commonpb.AnyValue_BoolValue,
		*commonpb.AnyValue_IntValue, *commonpb.AnyValue_DoubleValue:
		return true
	case *commonpb.AnyValue_ArrayValue:
		for _, e := range v.ArrayValue.GetValues() {
			switch e.GetValue().(type) {
			case *commonpb.AnyValue_ArrayValue, *commonpb.AnyValue_KvlistValue, *commonpb.AnyValue_BytesValue, nil:
				return false
			}
		}
		return true
	}
	return false
}
