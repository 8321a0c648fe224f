// Package llmsdk holds the tests and the runnable examples of package llm
// with the official OpenAI and Anthropic Go SDKs. They live in the module
// github.com/complyhq/comply/integration/sdk, apart from comply's own, so
// that the SDKs are not among what a user of comply downloads.
package llmsdk
