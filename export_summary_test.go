package comply

import "time"

// WaitSummaries waits for the writer's first background summary pass.
func WaitSummaries(l *Logger) { <-l.summariesDone }

// SetSummaryInterval sets how often a writer's background summary pass
// runs, for Loggers made after it, and returns a function that restores
// it. Not for parallel tests.
func SetSummaryInterval(d time.Duration) (restore func()) {
	old := summaryInterval
	summaryInterval = d
	return func() { summaryInterval = old }
}
