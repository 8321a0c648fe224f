package main

import (
	"strings"
	"testing"
)

// TestAskYes checks the answers that confirm a cleanup of every entry: only
// "y" or "yes", in any case; anything else, or no answer, declines.
func TestAskYes(t *testing.T) {
	tests := []struct {
		answer string
		want   bool
	}{
		{"y\n", true},
		{"yes\n", true},
		{" YES \n", true},
		{"Y", true}, // no newline before the end
		{"\n", false},
		{"", false},
		{"n\n", false},
		{"yess\n", false},
		{"no\nyes\n", false}, // only the first line counts
	}
	for _, tt := range tests {
		var w strings.Builder
		got, err := askYes(strings.NewReader(tt.answer), &w, "Delete everything?")
		if err != nil {
			t.Fatalf("askYes(%q): %v", tt.answer, err)
		}
		if got != tt.want {
			t.Errorf("askYes(%q) = %v, want %v", tt.answer, got, tt.want)
		}
		if w.String() != "Delete everything? [y/N] " {
			t.Errorf("askYes(%q) asked %q", tt.answer, w.String())
		}
	}
}
