package llmsdk_test

import (
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
	entries             = llmtest.TransportEntries
	oneEntry            = llmtest.OneEntry
	intv                = llmtest.Int
)
