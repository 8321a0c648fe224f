// Package skipfilter keeps, for one segment of a store, a split-block Bloom
// filter per indexed field (conversation_id, input_hash, output_hash,
// metadata keys), so that a query for a value can skip the segments that
// certainly do not hold it; and the same filters per block of consecutive
// entries (DefaultBlockEntries), with the block's time range, so that in a
// segment that may hold the value a query reads only the time ranges of
// the blocks that may (Set.Ranges).
//
// A filter answers "certainly absent" or "may be present": it has no false
// negatives, and about 1% false positives at the size New chooses. A
// caller that gets "may be present" scans the segment and filters the
// entries as usual, so a false positive costs time, never a wrong result.
//
// The filter is the split-block Bloom filter of the Parquet specification
// (blocks of eight 32-bit words, one bit set per word, the block chosen by
// the high half of a 64-bit XXH64 hash and the bits by the low half times
// eight fixed odd salts), with any number of blocks rather than a power of
// two. The binary encoding of a Set, versioned and checksummed, is
// described in docs/format.md, "Skip filters"; Unmarshal refuses anything
// else, so that a damaged blob is rebuilt, never trusted.
package skipfilter
