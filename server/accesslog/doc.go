// Package accesslog records every read of evidence made through comply
// serve (a query, a get, a decryption, a proof, a verification, an
// export), and every read refused, in a tamper-evident log of its own:
// who (the token's name and role), what (the route, the filters, how many
// entries, the ids read), when, and from where.
//
// Each access is one entry of a comply.Logger over a store beside the
// entries' store, with a ledger of its own, so that 'comply verify' checks
// the access log as it checks the entries, and the Python library could
// read it. docs/format.md (section 6) gives the mapping of a Record onto
// the seed's fields: provider "comply", model "access", the request's
// one-line description (Describe) and its outcome hashed as input and
// output, safety_passed false for a refused request, and the record's
// fields in the metadata, which Log.Records decodes back.
//
// Where the access store lives is the command line's choice: by default
// DIR/.comply/access beside a directory store DIR, and PREFIX/_comply/access
// beside an S3 store, where the entries' store never looks.
package accesslog
