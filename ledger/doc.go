// Package ledger makes a comply store tamper-evident: a Merkle log over
// every entry, signed checkpoints, inclusion proofs, provable deletions,
// and Verify, which tells what changed.
//
// # The log
//
// Every line a store writes becomes a leaf of an RFC 6962 Merkle tree, in
// write order across all files: the leaf hash is SHA-256 of a zero byte and
// the exact line bytes (github.com/transparency-dev/merkle). The lines stay
// exactly the seed's schema, so the Python library still reads the
// directory; everything else lives in the store's sidecar blobs
// (store.Sidecar), which the Python library never sees:
//
//	ledger/<slug>/leaves/NNNNNNNN       leaf tiles of TileSize leaf records
//	ledger/<slug>/checkpoint            the latest signed checkpoint
//	ledger/<slug>/checkpoints/YYYYMMDD  the day's checkpoint history
//	ledger/<slug>/deletions/NNNNNNNNNNNN signed deletion records
//	ledger/<slug>/rewrites/NNNNNNNNNNNN  signed rewrite records (rewrap)
//	ledger/<slug>/erasures/NNNNNNNNNNNN  signed erasure records (crypto-shredding)
//
// A leaf record is the 32-byte leaf hash and the entry's timestamp. The
// slug is the log's origin made safe for a blob name (Slug). The formats
// are in docs/format.md.
//
// # Checkpoints
//
// A checkpoint is a C2SP tlog-checkpoint note (origin, tree size, base64
// root hash) with extension lines "time", "heartbeat" and, at close,
// "closed", signed with an Ed25519 note key (golang.org/x/mod/sumdb/note).
// A writer writes one after every Options.CheckpointEvery entries or
// Options.CheckpointInterval, whichever first, at Close, and on a heartbeat
// while idle, and never before the tiles of the leaves it signs are
// durable. The history keeps a checkpoint at least every heartbeat, so
// Verify can show when the writer was down (Report.Gaps).
//
// # Writing
//
// Open follows a store through store.Observable: the store calls the
// ledger under its write lock with each write's records, and the ledger
// only hashes and queues them there; a background goroutine appends the
// leaves to the tree and writes tiles and checkpoints.
//
// A writer never signs a line it did not write. Append (which
// comply.NewWithIntegrity routes every write through) first appends the
// batch's leaves to the writer's journal, a chained, MACed and signed
// append-only blob (store.Appender), then lets the store write the lines,
// then records the acknowledgement; in the store's Always mode the journal
// is durable before Append returns. On open, the writer recovers exactly
// the lines its journal vouches for. A line that neither its tree nor its
// journal holds, an acknowledged entry that is gone, a journal record that
// fails its MAC, or a store with entries and no ledger (a directory the
// Python library wrote) makes Open fail with a *RecoveryError, until an
// operator adopts the store's state (Options.AdoptAll, 'comply seal'),
// which signs an Adoption record: what, when, by which key and why.
//
// Delete and Expire remove entries through the ledger: it signs a record
// of the leaves removed and why (a request, or retention), so that Verify
// reports them as deleted by policy rather than missing.
//
// # Verifying
//
// Verify needs only the verifier keys: it checks every signature, the
// leaves against every checkpoint's root, the checkpoint the verifier
// trusted last time (kept outside the store) against the log, and every
// line against the leaves, and reports in plain words what it found
// (Kind). Prove and VerifyProof make and check an inclusion proof of one
// entry, to show an auditor without the others.
package ledger
