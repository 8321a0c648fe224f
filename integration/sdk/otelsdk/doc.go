// Package otelsdk tests comply's OTLP endpoint with the official
// OpenTelemetry Go SDK: spans carrying GenAI attributes and events, as an
// instrumentation sets them, exported by otlptracehttp (protobuf, gzip) to
// an otlp.Handler over a comply.Logger. It has no code of its own.
package otelsdk
