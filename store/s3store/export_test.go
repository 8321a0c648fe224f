package s3store

import "time"

// SetRetainFor makes a store lock its objects for d instead of retain_days,
// so that tests can watch a lock run out.
func SetRetainFor(o *Options, d time.Duration) { o.retainFor = d }
