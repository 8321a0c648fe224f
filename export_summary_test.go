package comply

// WaitSummaries waits for the writer's first background summary pass.
func WaitSummaries(l *Logger) { <-l.summariesDone }
