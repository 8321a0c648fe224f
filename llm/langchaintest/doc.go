// Package langchaintest holds the tests and the runnable example of package
// llm with LangChain Go (github.com/tmc/langchaingo). They live apart from
// package llm's own tests because LangChain Go brings dependencies
// (a tokenizer) that the rest of comply does not need.
package langchaintest
