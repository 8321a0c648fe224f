// Package accesslog records every read of evidence made through comply
// serve (a query, a get, a decryption, a proof, a verification, an
// export), and every read refused, in a tamper-evident log of its own:
// who (the token's name and role), what (the route, the filters, how many
// entries, the ids read), when, and from where.
//
// Each access is one entry of a comply.Logger over a store beside the
// entries' store, with a ledger of its own, so that 'comply verify' checks
// the access log as it checks the entries, and the Python library could
// read it.
package accesslog
