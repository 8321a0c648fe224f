package comply

import (
	"crypto/rand"
	"encoding/binary"
	"time"

	"github.com/google/uuid"
)

// newID returns a version 7 UUID (RFC 9562) for an entry stamped ts. The
// 48-bit millisecond field comes from ts itself, so the id and the entry's
// timestamp always name the same millisecond, and the 12 bits that follow
// carry the sub-millisecond fraction (the RFC's method 3), so ids from one
// clock sort in time order to the microsecond. The remaining 62 bits are
// random.
func newID(ts time.Time) string {
	var u uuid.UUID
	ms := uint64(ts.UnixMilli())
	frac := uint64(ts.Nanosecond()%int(time.Millisecond)) * 4096 / uint64(time.Millisecond)
	binary.BigEndian.PutUint64(u[0:8], ms<<16|0x7000|frac)
	rand.Read(u[8:])
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return u.String()
}
