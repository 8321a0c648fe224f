// Package console is the web console of comply serve: pages to filter and
// read the entries, open one with its proof, decrypt it with a reason,
// follow a conversation, see the dashboard, the integrity of the log and
// the access log. It is HTML, CSS and JavaScript embedded in the binary
// (go:embed), with one vendored chart library (uPlot 1.6.32, MIT, in
// static/vendor): no build step, nothing from another origin, so it works
// offline.
//
// # Pages and the API
//
// Every page is a URL whose query string holds its filters
// (/entries?model=gpt-4o&safety=failed&since=7d), served as a small
// HTML shell that the script fills from the API routes of package server,
// authenticated by the session cookie: what the console shows is what
// the API answers to the signed-in token, and every read of evidence is
// recorded in the access log as any API read. GET /export streams GET
// /v1/entries as NDJSON, or converted to CSV, as a download.
//
// # Sessions
//
// POST /signin takes a token's secret (role read, decrypt or admin) and
// sets the cookie comply_session: a random 256-bit id, HttpOnly,
// SameSite=Strict, Secure over TLS, for SessionTTL. The server keeps the
// sessions in memory, keyed by the SHA-256 of the id, each with the
// token's secret (never in the cookie) so that every request
// re-authenticates it: a revoked token's sessions end within a second. A
// restart signs every browser out. POST /signout ends the session.
//
// # CSRF
//
// A request that changes state and is authenticated by the cookie needs
// the session's CSRF token (a second random value, given to the page in
// a data attribute) in the X-CSRF-Token header or, for the sign-out
// form, the csrf field; its Origin, when the browser sends one, must be
// the server's. The sign-in form uses a double-submit token (a cookie and
// a field). SameSite=Strict is a second line.
//
// # Content-Security-Policy
//
// Every response carries CSP: default-src 'self', no inline script or
// style, no frames, no other origin; and nosniff, DENY framing, a
// same-origin referrer only. The pages build their DOM with createElement and text nodes
// only: data never becomes markup.
package console
