package s3store

import (
	"fmt"
	"time"

	"github.com/complyhq/comply/store"
)

// SetRetainFor makes a store lock its objects for d instead of retain_days,
// so that tests can watch a lock run out.
func SetRetainFor(o *Options, d time.Duration) { o.retainFor = d }

// ForgeSegment returns the key (relative to the store's prefix) and the
// bytes of a segment holding recs, which must all be of one UTC day, named
// as a segment of writer would be: what an attacker with write access to
// the bucket, but no signing key, could put there.
func ForgeSegment(writer string, seq uint64, recs []store.Record) (string, []byte) {
	rs := make([]segRec, len(recs))
	for i, r := range recs {
		rs[i] = segRec{id: r.ID, t: r.Time.UnixMicro(), line: r.Line}
	}
	body, x := encodeSegment(rs)
	n := segName{day: dayOfMicro(rs[0].t), writer: writer, run: fmt.Sprintf("%016dbeef", x.minT), seq: seq,
		count: x.count, minT: x.minT, maxT: x.maxT}
	return n.key(), body
}
