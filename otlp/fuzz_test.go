package otlp_test

import (
	"os"
	"testing"
	"time"

	"github.com/complyhq/comply/otlp"
	"google.golang.org/protobuf/proto"
)

// FuzzDecodeJSON: any body decodes or fails with an error, never a panic,
// and whatever decodes converts.
func FuzzDecodeJSON(f *testing.F) {
	if b, err := os.ReadFile("testdata/export.json"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","parentSpanId":"","links":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174"}]}]}]}]}`))
	f.Add([]byte(`{"resource_spans":[{"scope_spans":[{"spans":[{"trace_id":"zz"}]}]}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := otlp.DecodeJSON(b)
		if err != nil {
			return
		}
		otlp.Convert(td, otlp.Options{Now: func() time.Time { return time.Unix(1<<33, 0) }})
	})
}

// FuzzDecodeProtobuf: the same for protobuf bodies.
func FuzzDecodeProtobuf(f *testing.F) {
	if b, err := os.ReadFile("testdata/export.json"); err == nil {
		if td, err := otlp.DecodeJSON(b); err == nil {
			pb, _ := proto.Marshal(td)
			f.Add(pb)
		}
	}
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		td, err := otlp.DecodeProtobuf(b)
		if err != nil {
			return
		}
		otlp.Convert(td, otlp.Options{Now: func() time.Time { return time.Unix(1<<33, 0) }})
	})
}
