// Package langchain holds the tests and the runnable example of package
// llm with LangChain Go (github.com/tmc/langchaingo). They live in the
// module github.com/complyhq/comply/integration/sdk, apart from comply's
// own, so that LangChain Go and its dependencies (a tokenizer) are not
// among what a user of comply downloads.
package langchain
