package line

import (
	"math"
	"time"
)

// MSDuration converts a latency_ms value to a duration, saturating at the
// largest and smallest durations instead of wrapping around.
func MSDuration(ms float64) time.Duration {
	d := ms * float64(time.Millisecond)
	switch {
	case d >= math.MaxInt64:
		return math.MaxInt64
	case d <= math.MinInt64:
		return math.MinInt64
	}
	return time.Duration(d)
}
