// Package line encodes and decodes audit entries as the JSON lines written
// by the Python library rotalabs_comply, byte for byte.
//
// # The line format
//
// A log file is JSONL: one entry per line, each line the output of Python's
// json.dumps(entry_dict) with default settings, followed by "\n". This
// package deals in lines without the trailing newline. An entry is one JSON
// object with exactly these 17 keys, in this order:
//
//	id                   string  UUID
//	timestamp            string  naive ISO 8601 in UTC, "2026-11-25T17:38:41.529363"
//	input_hash           string  lowercase hex SHA-256 (or HMAC)
//	output_hash          string
//	input_content        string or null (encrypted content; null in hash-only mode)
//	output_content       string or null
//	provider             string or null
//	model                string or null
//	conversation_id      string or null
//	safety_passed        true or false
//	detectors_triggered  array of strings
//	block_reason         string or null
//	alerts               array of strings
//	latency_ms           number (Python writes a float, 250.5 or 0.0, or an int such as 12)
//	input_tokens         integer or null
//	output_tokens        integer or null
//	metadata             object (any JSON, key order as given)
//
// Python's default json.dumps settings fix the layout:
//
//   - the separators are ", " between members and ": " after keys, with no
//     other whitespace; empty containers are {} and [];
//   - strings are ASCII only (ensure_ascii): ", \, \n, \r, \t, \b and \f get
//     their short escapes, every other byte outside 0x20..0x7e (control
//     characters, DEL, all non-ASCII) becomes \uXXXX in lowercase hex, with a
//     surrogate pair for characters beyond U+FFFF; "/" is not escaped;
//   - floats are written as Python's repr writes them: the shortest digits
//     that round-trip, "2.0" for integral values, and scientific notation
//     such as "1e-07" or "1.5e+16" outside 1e-4 <= |x| < 1e16;
//   - integers are written digit for digit, of any size;
//   - the timestamp is datetime.isoformat() of a naive UTC datetime, whose
//     fraction is omitted when the microseconds are zero.
//
// # Encoding and decoding
//
// Append writes an Entry in exactly that layout; AppendString, AppendFloat,
// AppendTimestamp, AppendJSON and AppendValue are its building blocks and
// are exported for packages that write Python-compatible JSON themselves.
//
// Decode reads a line back. A line in the exact Python layout takes a fast
// path that walks the bytes once; anything else (other key order, other
// whitespace, escaped keys) goes through a general decoder that accepts any
// JSON object with the entry's keys. Both give the same Entry. Decoding is
// strict: unknown or duplicate keys, invalid UTF-8, lone surrogate escapes
// and numbers out of range are errors, so that every line Decode accepts
// can be written back by Append. Peek reads only the id and timestamp, for
// indexing.
package line
