// Package store defines the storage contract of comply: the Store interface
// that places finished audit lines durably and reads them back.
//
// A store knows nothing of hashing, encryption or signing. comply.Logger
// builds each entry (id, timestamp, content hashes, encrypted content) and
// hands the store a Record: an id, a time and the exact line bytes in the
// seed's JSONL schema. Time bounds are inclusive on both ends, as in the seed.
//
// The backends live in sub-packages: memstore (memory, for tests and
// development), filestore (date-named JSONL files, the seed's layout) and
// s3store (S3 and S3-compatible object storage). Package storetest holds the
// conformance suite that every backend passes.
package store
