package otlp_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
)

func readFile(name string) ([]byte, error) { return os.ReadFile(name) }

// jsonExport encodes td as OTLP JSON: protojson with hex ids.
func jsonExport(t testing.TB, td *tracepb.TracesData) []byte {
	t.Helper()
	b, err := protojson.Marshal(td)
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, rs := range v["resourceSpans"].([]any) {
		for _, ss := range rs.(map[string]any)["scopeSpans"].([]any) {
			for _, sp := range ss.(map[string]any)["spans"].([]any) {
				m := sp.(map[string]any)
				for _, k := range []string{"traceId", "spanId", "parentSpanId"} {
					if s, ok := m[k].(string); ok {
						raw, _ := base64.StdEncoding.DecodeString(s)
						m[k] = hex.EncodeToString(raw)
					}
				}
			}
		}
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
