// Package s3store is the S3 store.Store: audit entries in Amazon S3 or any
// S3-compatible object storage (MinIO, Ceph, R2, ...), written by many
// processes to one bucket, optionally under S3 Object Lock (WORM)
// retention. It implements store.Store, store.Sidecar, store.Observable
// store.Shared and store.Appender, and passes the storetest conformance
// suite.
//
// # The store URL
//
//	s3://BUCKET/PREFIX?PARAM=VALUE&...
//
// PREFIX is optional; every key the store writes or reads lies under
// "PREFIX/". The parameters, all optional:
//
//	region=NAME          AWS region. Default: the standard configuration
//	                     (AWS_REGION, ~/.aws/config); us-east-1 when endpoint
//	                     is set and no region is.
//	endpoint=URL         http(s)://host[:port] of an S3-compatible server.
//	                     Path-style addressing is used whenever it is set.
//	layout=segments|seed segments (default): compressed, indexed batches of
//	                     entries (see below). seed: one object per entry at
//	                     PREFIX/YYYY-MM-DD/<id>.json, as the Python library
//	                     writes, so that both can share a bucket.
//	durability=MODE      always (default), interval or none: when Append
//	                     returns; see "Durability". The seed layout is
//	                     always.
//	flush_ms=N           age in milliseconds at which the interval mode
//	                     stores its buffer. Default 1000.
//	flush_bytes=N        size of the uncompressed lines at which a buffer
//	                     is stored as a segment, in every mode. Default
//	                     8388608 (8 MiB).
//	writer=NAME          the writer id (letters, digits, '-', '.'; up to 64).
//	                     Default: hostname-pid-random, new for each process.
//	object_lock=MODE     compliance or governance: write every object with
//	                     an S3 Object Lock retention in that mode. Needs a
//	                     bucket created with Object Lock enabled.
//	retain_days=N        the retention, in days from the write (1 to 36500);
//	                     required with object_lock.
//
// Credentials come from the standard AWS chain (environment, shared
// configuration and credentials files, SSO, web identity, container and
// instance roles), never from the URL: a URL with user information is
// refused, and no error message repeats the URL's query. Unknown
// parameters are errors, so that a typo does not silently change
// behaviour. Options.Client replaces the whole client configuration.
//
// # The segments layout
//
//	PREFIX/segments/YYYY/MM/DD/<writer>_<run>_<seq>_g<gen>_n<count>_<min>-<max>.jsonl.gz
//	PREFIX/_comply/blobs/<name>
//	PREFIX/_comply/parts/<name>/<part>
//
// A segment holds entries of one UTC day, the day of its folder. Its name
// says who wrote it and what it holds, so that a listing alone is enough to
// count entries, to skip segments outside a time range and to expire
// whole segments:
//
//	writer  the writer id
//	run     the writer's run: the time it opened the store, in µs (16
//	        digits), and 4 random hex digits; a writer's runs sort in the
//	        order they started
//	seq     1, 2, ... within the run and day, 12 digits: write order
//	gen     0 when written, +1 each time a deletion or expiry rewrites it
//	count   the entries it holds
//	min-max the first and last entry times, HHMMSSffffff (UTC, µs)
//
// Readers take, for each writer, run and seq, the highest generation: a
// rewrite writes generation g+1 and then deletes g, so a crash between the
// two leaves a stale generation that readers ignore and the next cleanup
// removes.
//
// A segment object is a gzip file of several members that any gzip reader
// (gunzip, zcat, Python's gzip) decompresses to exactly the JSONL lines,
// in write order: data members of up to 256 KiB of lines each, then its
// index carried in the header extra field of empty members, then an empty
// footer member that locates the index. The index lists the data blocks
// (offsets, sizes, line counts, time bounds) and every line's id and time;
// see the comment at the top of segment.go, and docs/format.md, for the
// exact bytes. A Get fetches a segment's tail (one ranged GET, holding the
// index in all but huge segments) and then the one block that holds the
// entry; indexes are cached, and never go stale since a segment's key
// names one content.
//
// # Writing: group commit
//
// Append places records into the writer's buffer for their day and calls
// the observer, under the store's lock: the order the observer sees is the
// order of the lines in each day's segments. A buffer becomes a segment,
// named with the writer's next sequence number and stored with one PUT,
// when it reaches flush_bytes; with durability always, as soon as no
// other PUT of the writer is in flight: while one is, the next callers'
// records gather, and the next PUT carries them all (group commit, so
// with N concurrent callers a PUT carries about N entries); with interval,
// when it is flush_ms old; with none, only at flush_bytes. A read by the
// writing process (Get excepted, which also looks in the buffer), a
// deletion, an expiry and Close store the buffer first.
//
// Every PUT of a segment or seed entry is conditional (If-None-Match: *): a
// writer never overwrites one, its own or another's. (Blobs are replaced
// by design.) If the server answers that the name is
// taken, the writer checks the object's SHA-256 (user metadata
// comply-sha256) to tell its own earlier attempt, whose reply was lost,
// from a foreign object, and in the latter case takes the next sequence
// number. Servers that do not implement conditional writes (501
// NotImplemented) get unconditional PUTs from then on; names stay unique
// by writer and run all the same.
//
// A PUT that fails (after the SDK's retries) fails the Appends waiting for
// it; the segment stays queued, with the same name and bytes, and is
// retried with backoff, so that what the observer saw is eventually stored
// and in order. Appends fail at once when more than Options.MaxPending
// bytes await upload. Close retries a failing segment three times and
// then reports how many records it could not store.
//
// # Durability
//
// What a crash of the writing process (or its machine) can lose:
//
//   - always: nothing acknowledged. Append returns once S3 has stored the
//     segment holding the records; S3's own durability applies from then
//     on. Records of Appends that had not returned may or may not be
//     stored, never in part: a segment is one object, stored whole or not
//     at all.
//   - interval: the records acknowledged in the last flush_ms (plus the
//     time a failing PUT spends in retries): they were only in memory.
//   - none: every record acknowledged since the last segment stored,
//     up to flush_bytes of them.
//
// In every mode a reader sees only whole segments: a segment is visible
// once its PUT completes, never partly.
//
// # Many writers, one bucket
//
// Any number of processes may write to one bucket and prefix at once:
// each names its segments with its own writer id and run, so no two
// collide, and each keeps its own integrity data in blobs named after its
// WriterID; RecordWriter tells which writer a record read back came from.
// Reads merge all writers: Scan lists the days within the query,
// reads each day's segments that meet the query (up to ReadConcurrency
// GETs at once, fetching ahead), and merges the writers by time, each
// writer's records in the order it wrote them; Count adds up the names;
// Delete and Expire act on whoever's segments hold the entries. A named
// writer (writer=NAME) must run in one process at a time; two processes
// with one name still lose nothing, as their runs differ.
//
// # Append-only blobs: the ledger's journal
//
// The integrity ledger (package ledger) journals the leaves of every write
// in an append-only blob (store.Appender) before the store writes it. S3
// has no append, so such a blob is a series of objects, its parts,
// PREFIX/_comply/parts/<name>/<part> with <part> 12 digits from 0.
// AppendBlob only buffers; the buffered bytes of every append-only blob
// become a new part, stored with a conditional PUT, whenever the writer
// stores a segment (or a seed write's objects), before it, so that no
// record is ever stored without the journal bytes appended before it
// (and the Appends the segment acknowledges wait for both). SyncBlob and Close store the buffer too. So the journal is
// exactly as durable as the records, in every durability mode. ReadBlob
// and ListBlobs present the blob as one, the concatenation of its parts
// up to the first missing one; RemoveBlob deletes every part.
//
// A crash between a segment's PUT and its part's can leave a stored
// segment whose journal intents are not stored: those entries were never
// acknowledged, but the restarted writer cannot tell them from forged
// ones, and refuses to start (a *ledger.RecoveryError) until an operator
// runs 'comply seal'. It never signs them silently.
//
// # Object Lock
//
// With object_lock, every object (segments, seed entries, blobs) is written
// with ObjectLockMode and ObjectLockRetainUntilDate = now + retain_days,
// and a checksum (the SDK's CRC32, which S3 and MinIO accept in place of
// Content-MD5). Under COMPLIANCE nobody, not even the root user, can
// delete an object version or shorten its retention before it runs out;
// under GOVERNANCE only a user with s3:BypassGovernanceRetention can, and
// this package never bypasses. Object Lock implies a versioned bucket, so
// deletions here always name the version: deleting a key without its
// version would only hide a locked object behind a delete marker.
//
// Delete of an entry whose object is locked returns an error wrapping
// ErrRetained (a *RetainedError says until when) and changes nothing.
// ExpireReport deletes what has expired and whose lock has run out, and
// reports what locks still protect (Report.Retained, RetainedUntil)
// instead of failing; Expire returns the count deleted. A segment that
// straddles the cutoff is rewritten only once its lock has run out.
// Replacing a blob adds a version; earlier versions stay until their
// retention ends.
//
// # The seed layout
//
// One object per entry at PREFIX/YYYY-MM-DD/<id>.json holding the entry's
// line, as the Python library's S3Storage writes it; objects with or
// without a trailing newline, or pretty-printed, are read. Unlike the
// Python library, reads list only the date folders within the query's
// bounds, every day of the month included; a version-7 id is fetched from
// its day directly, and any other id from each date folder at once; and
// objects are fetched concurrently (32 at once). Objects written here also
// carry user metadata (comply-writer, comply-order) so that a scan gives
// each writer's entries in write order; the Python library's objects come
// in time order. A scan holds one day's objects in memory. Each entry
// costs a PUT: use the segments layout unless the bucket is shared with
// the Python library.
//
// # Get
//
// Get looks first in the writer's own unstored buffer, then, for a
// version-7 id whose time is plausible (2000 to tomorrow), in that day
// only: in the segments whose time bounds hold the id's millisecond,
// then the day's others, listing the day again before giving up. Any other
// id is looked for in every day, most recent first, through the (cached)
// indexes.
package s3store
