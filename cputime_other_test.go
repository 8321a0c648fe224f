//go:build !unix

package comply_test

import "time"

// cpuTime returns 0: the benchmarks' CPU time is measured on Unix only.
func cpuTime() time.Duration { return 0 }
