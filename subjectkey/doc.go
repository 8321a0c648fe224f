// Package subjectkey is crypto-shredding for comply: a Fernet data key per
// data subject (the value of a configured metadata key, such as user_id),
// so that erasing one subject's data key makes the content of all its
// entries undecryptable for good, even in a store where nothing can be
// deleted (S3 Object Lock), while the entries, their hashes and the
// integrity ledger stay intact and verifiable.
//
// # Keys and blobs
//
// A Vault keeps, in the store's sidecar blobs (store.Destroyer, written
// without Object Lock retention):
//
//	subjects/namekey                          the HMAC key that names subjects, wrapped
//	subjects/<subject key>/keys/<hmac>        a subject's data key, wrapped
//	subjects/<subject key>/erased/<hmac>/<id> the tombstone of an erased data key
//
// <hmac> is the first 32 hex digits of HMAC-SHA256(name key, subject
// value): the subject value itself appears in no blob name or blob. Data
// keys and the name key are wrapped (Fernet-encrypted) under the primary
// key of the comply keyring, whose id each blob records; unwrapping uses
// that id. A keyring from a KMS key source (package keysource, kms:FILE)
// is itself made of KMS-wrapped data keys, which gives envelope
// encryption under KMS; no KMS call is made per subject key.
//
// Content sealed under a data key is ordinary Fernet in the seed's double
// base64 form; the entry's metadata encryption_key_version is
// "subject:<data key id>".
//
// # Erasure
//
// Vault.Erase writes a tombstone (when, why, the data key's id) and then
// destroys every stored version of the wrapped data key. An entry whose
// key is gone then fails to open with an *ErasedError saying when and why.
// A subject logged again after its erasure gets a new data key: the
// erasure covers the entries logged before it, never silently the later
// ones (a new erasure covers those).
//
// Unwrapped keys are cached in memory, at most Options.CacheSize of them.
package subjectkey
