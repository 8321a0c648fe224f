package comply_test

import (
	"testing"

	"github.com/complyhq/comply"
)

// TestTokens: a count set with Tokens, a count from another entry, and no
// count at all come back as logged, nil as nil.
func TestTokens(t *testing.T) {
	big := int64(1) << 40
	tests := []struct {
		name    string
		in, out *int64
	}{
		{"both set", comply.Tokens(12), comply.Tokens(34)},
		{"zero output", comply.Tokens(7), comply.Tokens(0)},
		{"unknown", nil, nil},
		{"input only", comply.Tokens(5), nil},
		{"beyond int32", &big, comply.Tokens(1)},
	}
	l := newLogger(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := l.Log(t.Context(), comply.Interaction{Input: "q", InputTokens: tt.in, OutputTokens: tt.out})
			if err != nil {
				t.Fatal(err)
			}
			e, err := l.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !eqTokens(e.InputTokens, tt.in) || !eqTokens(e.OutputTokens, tt.out) {
				t.Errorf("tokens = %v, %v; want %v, %v", ptrv(e.InputTokens), ptrv(e.OutputTokens), ptrv(tt.in), ptrv(tt.out))
			}
			// An entry's counts can be logged again as they are.
			if _, err := l.Log(t.Context(), comply.Interaction{Input: "again", InputTokens: e.InputTokens, OutputTokens: e.OutputTokens}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func eqTokens(a, b *int64) bool { return (a == nil) == (b == nil) && (a == nil || *a == *b) }

func ptrv(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}
