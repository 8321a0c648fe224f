// Package otelnode tests comply's OTLP endpoint with real GenAI
// instrumentations from npm: script.mjs calls the fake OpenAI API
// (llm/llmtest) with the official openai package, instrumented by
// OpenLLMetry's @traceloop/instrumentation-openai (current and an older
// release) or by @opentelemetry/instrumentation-openai, and exports the
// spans over OTLP/HTTP to an otlp.Handler over a comply.Logger. The npm
// packages are pinned in package.json and package-lock.json; `make
// otelnode` installs them (npm ci). It has no code of its own.
package otelnode
