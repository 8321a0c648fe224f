// Package proxysdk holds the tests of package proxy with the official
// OpenAI and Anthropic Go SDKs as clients. They live in the module
// github.com/complyhq/comply/integration/sdk, apart from comply's own, so
// that the SDKs are not among what a user of comply downloads.
package proxysdk
