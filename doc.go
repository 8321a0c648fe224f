// Package comply is an audit log for AI applications: it records every LLM
// interaction (who asked what, which model answered, whether the safety
// checks passed, how long it took) as tamper-evident, minimal evidence.
//
// A Logger builds each entry: a time-ordered UUIDv7 id, a UTC timestamp,
// SHA-256 hashes of the input and output (hash-only mode, the default), and,
// when content storage is on, the content encrypted with a Fernet key. It
// encodes the entry as one JSON line in the schema of the Python library
// rotalabs_comply, so that a directory written by either is read by the
// other, and hands the line to a store.Store, which places it durably.
//
//	s, err := filestore.Open(ctx, "/var/log/ai-audit", nil)
//	...
//	logger, err := comply.New(s, nil)
//	...
//	id, err := logger.Log(ctx, comply.Interaction{
//		Input:       "What is the weather today?",
//		Output:      "I don't have access to real-time weather data.",
//		Provider:    "openai",
//		Model:       "gpt-4",
//		Latency:     150 * time.Millisecond,
//		InputTokens: comply.Tokens(12), // nil when unknown
//	})
//
// An Interaction with a Time is backfilled: stamped, and stored in the day
// file, at that time rather than now.
//
// Reads go the other way: Get finds one entry by id, Entries and Query
// stream entries within inclusive time bounds as an iter.Seq2, so memory
// stays flat whatever the store holds. Query's metadata filters compare
// numbers as numbers, and Entry.MetadataMap decodes an entry's metadata.
package comply
