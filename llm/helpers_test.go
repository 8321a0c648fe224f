package llm_test

import (
	"github.com/complyhq/comply/llm/llmtest"
)

const apiKey = "sk-test-0123456789abcdefghijklmnop"

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
