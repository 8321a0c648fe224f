package comply_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/memstore"
)

// TestEmptyStringsRead checks that a field the Python library wrote as ""
// reads back as an empty string, not as null, through Logger.Get and
// Logger.Query, and that the stored line is untouched.
func TestEmptyStringsRead(t *testing.T) {
	const null = `{"id": "3764efa7-6254-4b67-8673-77597f701ef5", "timestamp": "2026-01-02T03:04:05", "input_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "output_hash": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "input_content": null, "output_content": null, "provider": null, "model": null, "conversation_id": null, "safety_passed": true, "detectors_triggered": [], "block_reason": null, "alerts": [], "latency_ms": 1.5, "input_tokens": null, "output_tokens": null, "metadata": {}}`
	tests := []struct {
		name   string
		fields []string
		want   comply.EmptyFields
	}{
		{"none", nil, 0},
		{"output_content", []string{"output_content"}, comply.EmptyOutputContent},
		{"input_content", []string{"input_content"}, comply.EmptyInputContent},
		{"block_reason and conversation_id", []string{"block_reason", "conversation_id"}, comply.EmptyBlockReason | comply.EmptyConversationID},
		{"all", []string{"input_content", "output_content", "provider", "model", "conversation_id", "block_reason"},
			comply.EmptyInputContent | comply.EmptyOutputContent | comply.EmptyProvider | comply.EmptyModel | comply.EmptyConversationID | comply.EmptyBlockReason},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := null
			for _, f := range tt.fields {
				ln = strings.Replace(ln, `"`+f+`": null`, `"`+f+`": ""`, 1)
			}
			st := memstore.New(0)
			ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
			if err := st.Append(t.Context(), store.Record{ID: "3764efa7-6254-4b67-8673-77597f701ef5", Time: ts, Line: []byte(ln)}); err != nil {
				t.Fatal(err)
			}
			l, err := comply.New(st, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			e, err := l.Get(t.Context(), "3764efa7-6254-4b67-8673-77597f701ef5")
			if err != nil {
				t.Fatal(err)
			}
			if e.Empty != tt.want {
				t.Errorf("Get: Empty = %06b, want %06b", e.Empty, tt.want)
			}
			n := 0
			for q, err := range l.Query(t.Context(), comply.Query{}) {
				if err != nil {
					t.Fatal(err)
				}
				n++
				if q.Empty != tt.want {
					t.Errorf("Query: Empty = %06b, want %06b", q.Empty, tt.want)
				}
			}
			if n != 1 {
				t.Fatalf("Query: %d entries", n)
			}
			for r, err := range st.Scan(t.Context(), store.Query{}) {
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(r.Line, []byte(ln)) {
					t.Errorf("stored line changed:\n%s", r.Line)
				}
			}
		})
	}
}
