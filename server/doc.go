// Package server is comply serve: the audit log as an HTTP service over
// the same stores, ledger and durability modes as the command line.
//
// A Server answers the routes below, each behind a bearer token of a role
// (package auth): "Authorization: Bearer SECRET", or, on the proxy
// routes, whose Authorization header belongs to the upstream API,
// "X-Comply-Token: SECRET". No token or an unknown one is 401, the wrong
// role 403. Every error is JSON: {"error": "..."}.
//
//	POST /v1/entries                 ingest   log a JSON array or NDJSON of interactions
//	POST /v1/traces                  ingest   OTLP/HTTP GenAI spans (Options.Traces)
//	ANY  /proxy/{name}/...           ingest   the audit proxy to an upstream (Options.Upstreams)
//	GET  /v1/entries                 read     query, newest first and paged, or NDJSON   [recorded]
//	GET  /v1/entries/{id}            read     one entry                                   [recorded]
//	GET  /v1/entries/{id}/proof      read     its inclusion proof ('comply prove')        [recorded]
//	POST /v1/entries/{id}/decrypt    decrypt  its content; ?reason= kept in the record     [recorded]
//	GET  /v1/count                   read     the number of entries
//	GET  /v1/stats                   read     the health metrics ('comply stats --json')
//	GET  /v1/timeseries              read     counts, tokens and latency percentiles by hour or day (?step=1h|1d&group_by=model|provider|detector)
//	GET  /v1/breakdown               read     the busiest users (?by=user&since=&limit=)  [recorded]
//	GET  /v1/integrity               read     the last checkpoint, the heartbeat timeline (?since=|start=&end=) and the last verify
//	POST /v1/verify                  admin    run 'comply verify' and keep its result     [recorded]
//	GET  /v1/access                  admin    the access log                              [recorded]
//	GET  /v1/reports                 read     a compliance report (package report)        [recorded]
//	GET  /metrics                    none     Prometheus metrics (Options.NoMetrics turns it off)
//	GET  /healthz, /readyz           none     alive; ready (no write failing)
//
// A browser signed in to the web console (Options.Console, package
// console) is authenticated instead by its session cookie
// (Options.Sessions), as the token it signed in with; a POST so
// authenticated also needs the session's CSRF token (403 without). Every
// path outside the API is the console's.
//
// Admin may do everything, decrypt everything read may. The reads marked
// recorded are evidence: each is written to the access log (Options.Access)
// with who, what, when and from where before its answer is sent, refused
// ones (401, 403) included; if the record cannot be written, the read
// fails with 503, so that evidence is never read unrecorded. An NDJSON
// stream is recorded as it starts (count -1) and again, with its count,
// when it ends.
//
// GET /v1/entries filters with start, end, since, provider, model,
// conversation_id, safety (passed or failed; safety_failed=true is
// safety=failed), detector (entries whose detectors_triggered has it) and
// meta.KEY, and finds by content:
// input_hash and output_hash match a stored hash, input_text and
// output_text hash the text as the Logger does (Logger.Hash, plain or
// keyed) and match that. The text is never logged: the access record keeps
// its hash under the parameter's name. Over a segmented store these
// filters read only the segments whose skip filters may match.
//
// GET /v1/stats gives, beside the fields of 'comply stats --json', the
// entries by detector and by block reason (by_detector, by_block_reason),
// from the rollups as the rest, so the figures are the command's. GET
// /v1/breakdown?by=user counts the entries of each metadata user_id over
// the range (since, or start and end; 24 hours by default) and lists the
// limit busiest (10, up to 100), with the entries scanned, those without
// a user_id and the number of distinct users. The rollups do not keep
// users: it scans the range, so it costs what a query of the range
// costs. It is recorded, since user ids are personal data.
//
// GET /v1/integrity's timeline covers the range (24 hours by default, at
// most 31 days): the checkpoints of the ledger's history in it
// (ledger.History, signed by a Verifier) merged into spans: "traffic"
// (entries appended), "idle" (heartbeats only) and "down" (no checkpoint
// for more than one and a half heartbeats, as Verify reports a gap; clean
// when the writer closed), the silence after the last checkpoint
// included. POST /v1/verify with Accept: application/x-ndjson streams
// {"progress": {"read", "total"}} lines, then the answer it gives
// otherwise (or {"error"}); it is recorded as it starts and again with
// its count, as a stream of entries is.
//
// Ingest is all or nothing: every interaction of a request is stored with
// one LogBatch, and the answer, 200 {"ids": [...]}, comes once all are
// durable; an invalid one gives 400 {"error", "index"} and nothing is
// stored. An Idempotency-Key header, scoped to the token's name, makes a
// retry with the same body return the same ids without storing anything
// (the same key with another body is 422); keys are kept in the store's
// sidecar for at least 24 hours, across restarts.
package server
