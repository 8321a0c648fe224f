package main

import (
	"context"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/s3store"
)

// openS3Store opens the S3 store that an s3:// URL names:
//
//	s3://BUCKET/PREFIX?region=...&endpoint=...&layout=segments|seed&durability=...
//
// (every parameter is described in package s3store). Credentials come from
// the standard AWS chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
// AWS_PROFILE and ~/.aws, or an instance role; never from the URL. The
// durability of an S3 store is the URL's durability parameter: the
// --durability flag applies to directories. A read-only store makes no
// writes and takes no writer id, so readers work alongside any number of
// writers.
func openS3Store(ctx context.Context, spec string, readOnly bool) (store.Store, error) {
	s, err := s3store.Open(ctx, spec, &s3store.Options{ReadOnly: readOnly, OnSync: syncHook(ctx)})
	if err != nil {
		// s3store errors name the bucket and prefix, never the query
		// string or credentials.
		return nil, &s3OpenError{err: err}
	}
	return s, nil
}

// An s3OpenError is a failure to open an S3 store; libraryHints gives its
// hint.
type s3OpenError struct{ err error }

func (e *s3OpenError) Error() string { return "opening store: " + e.err.Error() }
func (e *s3OpenError) Unwrap() error { return e.err }
