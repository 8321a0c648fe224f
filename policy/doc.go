// Package policy decides how much of an interaction comply logs: a
// logging policy of ordered rules, first match wins, and a default.
//
// A rule matches on the interaction's provider, model and route (globs,
// as path.Match reads them) and on top-level metadata keys (equality with
// the value's text). Its action says the level, the metadata keys that
// must be present and what to do when one is missing, and the largest
// content stored:
//
//	none        no entry; the interaction is counted (per hour, per rule)
//	metadata    an entry without content hashes or content
//	hash        content hashes (the default)
//	keyed-hash  HMAC content hashes; refused without a hash key
//	encrypted   hashes and encrypted content; refused without a keyring
//
// The route names the front end that logged the interaction: the upstream
// of a proxy ("proxy/<name>", or "proxy" for comply proxy), "otlp" for
// the OTLP ingest, "api" for the entries API, "transport" for the Go
// llm.Transport. A Logger reads it from the context (comply.WithRoute).
//
// Parse reads a policy from YAML, strictly: an unknown key or a bad value
// is an error naming its line. Text is the policy's canonical text, which
// the ledger records when it changes (ledger.PolicyRecord), so that a
// report can tell which policy covered which period.
//
// The counts of level none are kept in sidecar blobs of the store, one per
// UTC day (CountsBlob, AppendCounts, ParseCounts); docs/format.md has the
// format and docs/policy.md the whole story.
package policy
