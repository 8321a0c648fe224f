// Package rollup keeps the counts, sums and latency sketches of a set of
// audit entries by hour, provider, model and safety outcome, by detector
// and by block reason: the summary kept per segment that Stats and
// Timeseries read instead of the entries (see docs/format.md, section 8).
//
// Counts and sums are exact; percentiles come from DDSketch sketches
// (github.com/DataDog/sketches-go) of relative accuracy Alpha: the p-th
// percentile of n values is within Alpha (relative) of the value of
// nearest rank ceil(p*n/100) of the sorted values, as the exact Stats
// computed it before. Sketches merge without loss, so a
// rollup of many segments answers as one of all their entries.
package rollup
