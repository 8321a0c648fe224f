package storetest

import "time"

// SetWaitLimit sets how long the rules wait for a method that should
// return promptly, so that the broken stores fail fast.
func SetWaitLimit(d time.Duration) { waitLimit = d }
