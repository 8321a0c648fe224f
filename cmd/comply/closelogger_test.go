package main

import (
	"errors"
	"fmt"
	"testing"

	"github.com/complyhq/comply/ledger"
)

// TestOnlyCheckpoint: a command whose entries are stored but whose closing
// checkpoint failed warns instead of failing (the entries are journaled);
// any other failure at close still fails it.
func TestOnlyCheckpoint(t *testing.T) {
	cp := fmt.Errorf("ledger: %w of comply/x: disk full", ledger.ErrCheckpoint)
	other := errors.New("fsync audit_20261130.jsonl: input/output error")
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{cp, true},
		{errors.Join(cp, nil), true},
		{errors.Join(cp, other), false},
		{other, false},
		{fmt.Errorf("closing: %w", cp), true},
	} {
		if got := onlyCheckpoint(tc.err); got != tc.want {
			t.Errorf("onlyCheckpoint(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
