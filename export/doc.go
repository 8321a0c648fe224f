// Package export writes a comply log out for the query engines users
// already run: Parquet files that DuckDB, Athena and Trino, Spark and
// ClickHouse read as they are.
//
// # Layout
//
//	OUT/
//	  dt=2026-11-25/part-WRITER-SEQ-N.parquet   one writer's entries of one UTC day
//	  _comply_export/watermark.json             what was exported, per writer
//
// The dt= folders are Hive partitions: engines that read the prefix with
// Hive partitioning see dt as a column and skip whole days by it. WRITER
// is the writer id ("local" for none), SEQ the writer's export run and N
// the file's number within the run and day. Files are zstd-compressed,
// in the schema of SchemaVersion described in docs/format.md section 7 and
// pinned by testdata/schema.golden.
//
// # Incremental and idempotent
//
// Each run exports only the entries after each writer's watermark (the
// last exported entry, by timestamp then id) and not younger than
// Options.Settle, then moves the watermark. Files appear whole or not at
// all (in a folder: temporary name, fsync, rename; on an s3:// prefix: one
// PUT per file, the watermark an object PUT last), and the watermark
// moves only once they are durable; a run stopped before that is redone by the next under
// the same names. Entries backfilled into the store with a timestamp at or
// before their writer's watermark are not exported by later runs: export
// such a range again into a new location.
//
// Content fields are exported exactly as stored: encrypted, never
// decrypted.
package export
