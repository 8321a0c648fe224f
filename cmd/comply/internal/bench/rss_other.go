//go:build !unix

package bench

// peakRSSMB returns 0: the peak resident set size is not measured here.
func peakRSSMB() float64 { return 0 }
