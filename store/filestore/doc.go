// Package filestore is the file store.Store: one directory of JSONL files
// named by date, exactly as the Python library rotalabs_comply writes them,
// so that either reads what the other wrote.
//
// # Files
//
//	dir/
//	  audit_20260128.jsonl       entries stamped on 2026-01-28 (UTC)
//	  audit_20260128_001.jsonl   the same day, after the first file passed RotationSize
//	  audit_20260129.jsonl
//	  .comply/                   sidecars; the Python library never looks here
//	    LOCK                     the writer lock (flock), holding the writer's pid
//	    index/<file>.idx         per-file index: id -> offset, time bounds, count
//	    torn/<file>.<off>.torn   bytes cut from a torn final line on repair
//	    tmp/                     rewrites in progress
//	    blobs/                   named blobs (store.Sidecar, store.Appender)
//
// Nothing inside the directory is followed through a symlink: files are
// opened with O_NOFOLLOW, and .comply and its directories are checked with
// Lstat; one that is a symlink or not a directory makes Open fail with an
// *UnsafePathError naming it.
//
// Each line is one entry in the seed's schema, ended by "\n". A day's files
// are appended in order; the highest-numbered one takes new lines. The
// index format is described in docs/format.md and at writeIndex.
//
// # Writing
//
// One process writes a directory at a time: Open takes an exclusive lock
// and a second writer gets a *LockedError. Append writes whole lines with
// one write call per batch and, in the Always mode, returns after fsync;
// concurrent appends share the fsync (group commit). A failed or short write
// (a full disk) is cut back to the last whole line and reported, so the
// files stay readable. On open, a writer cuts a torn final line left by a
// crash, keeps a copy of it and logs a warning (Options.ErrorLog), and
// rebuilds missing or stale indexes (for instance of files the Python
// library wrote).
//
// # Reading
//
// Readers take no lock: a store opened with ReadOnly sees a consistent
// prefix of a concurrent writer's files and never a partial line. Get looks
// the id up in the indexes, starting with the files of the day that a
// version-7 id carries; Scan skips whole files by their time bounds and
// streams the rest; Count adds up the indexes. A reader checks an index's
// header at open and its entries' checksum on first use (a lookup, or a scan
// cut within a file), so that counts and time bounds cost no pass over the
// entries; entries that fail it are rebuilt in memory from the file, never
// used. A writer checks every index whole at open and rewrites a damaged
// one. A line that cannot be read is reported with its file and offset,
// never dropped and never counted as an entry (Corrupt counts such lines).
//
// A file named like an entry file (audit_*.jsonl) that the store does not
// read (an impossible date, another shape of name, a symlink) is never
// skipped silently: every Scan yields it first as a *store.CorruptionError
// at offset -1 wrapping a *StrayFileError, and StrayFiles lists them.
//
// # Systems
//
// The file store runs on Linux and macOS (and the BSDs): it needs flock for
// the writer lock and mmap for the indexes. On Windows, Open fails at once
// with an *UnsupportedError, which wraps errors.ErrUnsupported; the memory
// store (package memstore) and the S3 store (package s3store) run there.
//
// # Retention
//
// Expire removes whole files whose entries are all expired and rewrites a
// partly expired file through a temporary file, fsync and rename, so a
// crash at any point loses no unexpired entry and duplicates none.
package filestore
