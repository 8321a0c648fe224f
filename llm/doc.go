// Package llm audits LLM API calls at the one seam every Go client shares:
// the HTTP transport.
//
// A Transport is an http.RoundTripper that wraps a base transport and logs
// every call to the OpenAI Chat Completions, Responses and Embeddings APIs,
// to the Anthropic Messages API and to Gemini's generateContent,
// streamGenerateContent, embedContent and batchEmbedContents through a
// comply.Logger, for plain JSON and for streamed (server-sent events)
// responses alike. Any client that lets you
// set its *http.Client (the official OpenAI and Anthropic SDKs, LangChain
// Go, a hand-written client) is audited without changing a call site:
//
//	t := &llm.Transport{Logger: logger}
//	client := openai.NewClient(option.WithHTTPClient(t.Client()))
//
// The SDKs' middleware option works as well: option.WithMiddleware(t.Middleware).
//
// # What is recorded
//
// One entry per call: the input (the last user message by default, as the
// seed's wrappers do, or the whole conversation, see InputMode), the output
// text (streams reassembled), the provider ("openai", "anthropic" or
// "google", which names the wire format), the model that answered, token usage, the latency
// from the start of the request to the end of the response body, the
// conversation id and metadata (from the request's context, see
// WithConversationID and WithMetadata, or from the X-Comply-Conversation-Id
// and X-Comply-Metadata request headers, which are stripped before the
// request goes upstream), and, in the metadata, the API ("api":
// "chat.completions", "responses", "messages", "embeddings",
// "generateContent", "streamGenerateContent", "embedContent" or
// "batchEmbedContents"), the request "path" (never its query), the
// "http_status", whether the request asked for a stream ("stream"), the
// "finish_reason" (or stop reason, or status), the provider's "response_id"
// and "request_id", the "requested_model" when another model answered, the
// "tool_calls" (see below), the end "user" the request names, and the SDK's
// "retry" number; for a stream, its time to first token ("ttft_ms": from
// the start of the request to the first text, refusal or tool-call delta,
// in milliseconds; uncompressed streams only); with Prices, the call's
// "cost_usd"; for an embeddings call, "embeddings": {"count": N,
// "dimensions": D}; and, for a call that failed, its "error" (see below).
// docs/format.md ("LLM metadata") describes each key.
// These keys are the Transport's: a caller's key of the same name is kept
// under "caller.<key>" (CallerPrefix), with an alert, never replaced
// silently. Each HTTP
// attempt is one entry: an SDK's retries are entries of their own. Headers
// are never recorded, and the request's credentials, and anything shaped
// like an API key, are cut from the error messages recorded, so an API key
// (Authorization, x-api-key) never reaches the log.
//
// # Tool calls
//
// A tool call is part of the output evidence. The output recorded (hashed,
// and encrypted when content is stored) is the answer's text followed by
// one line per tool call, all joined by "\n":
//
//	{"type":"tool_call","name":NAME,"arguments":ARGS}
//
// in the order of the response (Chat Completions: choice, then call index,
// the deprecated function_call last; Responses: output item; Messages:
// content block). NAME and ARGS are JSON strings in the entry line's
// escaping (ASCII-only), with no spaces: Python's json.dumps({"type":
// "tool_call", "name": n, "arguments": a}, separators=(",", ":")). ARGS is
// the arguments as the provider sent them (the arguments string of
// tool_calls and function_call, the input of a custom tool call, the input
// object of an Anthropic tool_use as JSON text; streamed fragments
// joined), compacted with json.Compact when valid JSON, as sent otherwise.
// The metadata lists each call as {"name": NAME, "arguments_hash": H}, H
// the hash of ARGS as Logger.Hash computes it, so that an auditor sees the
// calls in hash-only mode; the arguments themselves are only in the
// encrypted output. At most 64 calls of a response are recorded, with an
// alert past that.
//
// # Embeddings
//
// An embeddings call's input is its text, or the JSON array of its inputs
// when there are several. Its output is a summary of the vectors, not the
// vectors: {"type":"embeddings","count":N,"dimensions":D,"sha256":HEX},
// HEX the SHA-256 of "[" V1 "," V2 ... "]", each Vi a vector as the
// provider sent it, compacted (see docs/format.md).
//
// # Errors and safety outcomes
//
// safety_passed=false means a safety outcome, and only that: a refusal
// (block_reason "refusal: ...", detector "refusal"), a content filter
// (a finish reason such as content_filter, detector "content_filter"), or
// an HTTP error that a content policy gave (OpenAI's
// content_policy_violation, Azure's content_filter). A call that failed
// for another reason is not a safety failure: its entry has
// safety_passed=true, an empty block_reason, and in the metadata
//
//	"error": {"type": TYPE, "status": STATUS, "message": MESSAGE}
//
// with the same MESSAGE as an alert. TYPE is one of ErrorHTTP ("http",
// an HTTP error status, STATUS its code: "http 429: Rate limit
// reached"), ErrorTransport ("transport", an upstream that could not be
// reached, "upstream error: ...", or a response that broke off,
// "incomplete: response interrupted: ..."), ErrorTimeout ("timeout", the
// same from a timeout), ErrorCanceled ("canceled", the client canceled the
// call or closed the response before its end), ErrorAPI ("api", an error
// in the body or stream of a successful status, "error: ..."),
// ErrorIncomplete ("incomplete", a stream that ended before its final
// event), ErrorMalformed ("malformed", a response that could not be
// parsed, "malformed response: ...") or ErrorRequest ("request", a
// request body that could not be read). STATUS is present only for
// "http". MESSAGE has the request's credentials and anything shaped like
// an API key cut out, and is at most 500 bytes. comply.Logger.Stats counts
// these errors apart from the safety failures.
// Requests to other paths pass through unaudited.
//
// # The RoundTripper contract
//
// The caller's request is never modified: the body is read into memory
// (up to MaxRequestBody bytes, and within MaxBuffered, a memory budget
// shared by all calls in flight) and sent on a clone. A body past either
// bound is sent upstream as it arrives, hashed on the way: its entry's
// input_hash is the hash of the whole body as sent (not of the last user
// message, as it is not parsed), with an alert that says so; the call
// reads what the upstream left unread into the hash before the entry is
// written, so the hash always covers the real bytes. A request body with a
// Content-Encoding (gzip, deflate or br) is decoded before it is parsed,
// within the same bounds; one that cannot be decoded within them (a zip
// bomb) is hashed as sent, with an alert. The caller reads
// exactly the bytes the server sent, as they arrive: the response body is
// teed into an incremental parser, never buffered ahead of the caller.
// Bodies are always closed. An HTTP error status is a response, not an
// error.
//
// # When the entry is written, and fail-closed
//
// The entry is written exactly once, when the response is complete:
//
//   - for a JSON response, when the body has been read to its end;
//   - for a stream, at the event that ends it (data: [DONE] for Chat
//     Completions, response.completed, response.incomplete or
//     response.failed for Responses, message_stop for Messages), or at the
//     end of the body if none came;
//   - when the body fails or is closed before its end;
//   - when the round trip itself fails.
//
// The write happens on the caller's goroutine, before the Read that
// completes the response returns. By default the Transport is fail-closed:
// if the entry cannot be written, the caller never sees a successful
// response. For a JSON body the final byte is held back until the end of the
// body is known, and the Read that would have returned it with io.EOF
// returns an error wrapping ErrNotLogged instead; for a stream, the caller
// receives the bytes up to the blank line that would have dispatched the
// final event, then that error. An SDK therefore reports an error, and a
// proxy aborts the response. (The upstream call has happened: fail-closed
// guarantees that no successful response goes unrecorded, not that no
// request is sent.) A compressed stream, parsed only at its end, is not
// cut: only its io.EOF becomes the error. With FailOpen the call goes on,
// and the failure is counted in Stats and reported to OnError.
//
// An entry too large for the Logger (Options.MaxEntrySize, with content
// stored) is written again with the input and output cut to 64 KiB and an
// alert holding the hash of the whole.
package llm
