// Package evidence writes and checks evidence packs: one zip file that a
// compliance officer hands to an auditor, who checks it offline with only
// the pack and the log writer's verifier key.
//
// A pack (format "comply-evidence-pack/v1", docs/format.md section 10)
// holds the period's signed checkpoints of every ledger of the store (and
// the first after the period, which covers its end), a
// consistency proof from each ledger's first checkpoint of the period to
// its last, a deterministic sample of the period's entries (the stored
// lines) each with its inclusion proof against the last checkpoint (with
// its rewrite records, for an entry rewrapped since it was signed), the
// period's signed rewrite, erasure and policy records (the policy in force
// at the start included), the verifier key, the compliance report when one is given (JSON and HTML),
// and a manifest of every file's SHA-256, whose hash is signed with the
// writer's key as a note (golang.org/x/mod/sumdb/note), as the checkpoints
// are. The zip is deterministic (sorted names, fixed times, stored
// uncompressed), so the same inputs give the same bytes, and Verify
// requires a pack to be exactly that canonical encoding of its files.
//
// Verify checks a pack and returns a *Error naming the file and what is
// wrong (errors.Is with ErrSignature, ErrHash, ErrUnlisted, ...).
//
// Attest records a signed review of a report: an entry written through
// the ledger (provider "comply", model "attestation"), so that it is
// signed, proved and verified like any other; Attestations lists them.
package evidence
