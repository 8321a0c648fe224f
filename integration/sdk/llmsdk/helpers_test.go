package llmsdk_test

import (
	"testing"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/llm/llmtest"
)

// The helpers below are those of package llm's own tests that the SDK
// tests share.

// The shared helpers live in llmtest.
var (
	newTransport        = llmtest.NewTransport
	newFailingTransport = llmtest.NewFailingTransport
	meta                = llmtest.Meta
	failure             = llmtest.Failure
	noComplyHeaders     = llmtest.NoComplyHeaders
	errDiskFull         = llmtest.ErrDiskFull
)

// entries returns every entry the transport's logger holds.
func entries(t *testing.T, tr *llm.Transport) []comply.Entry {
	t.Helper()
	return llmtest.Entries(t, tr.Logger)
}

// oneEntry waits briefly for the transport's single entry and returns it.
// Entries are written before the response completes, so the wait only
// covers bodies closed on another goroutine.
func oneEntry(t *testing.T, tr *llm.Transport) comply.Entry {
	t.Helper()
	return llmtest.WaitEntries(t, tr.Logger, 1)[0]
}

func intv(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}
