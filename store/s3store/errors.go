package s3store

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrNoRegion is wrapped by Open when neither the URL's region
	// parameter nor the AWS configuration names a region.
	ErrNoRegion = errors.New("no AWS region")

	// ErrAccessDenied is wrapped by Open when S3 refuses access to the
	// bucket: the credentials of the AWS chain, or their policy, do not
	// allow it.
	ErrAccessDenied = errors.New("access denied")

	// ErrCredentialsInURL is returned for a store URL that carries
	// credentials: they come from the standard AWS chain (environment,
	// shared configuration files or an instance role), never from the URL,
	// which ends up in logs and process listings.
	ErrCredentialsInURL = errors.New("credentials in the URL are not accepted")
)

// An ObjectLockError says that Open refused a writer with object_lock
// because its bucket does not have Object Lock enabled, or because the
// bucket's Object Lock configuration cannot be read (Err is then the
// cause). Object Lock can only be enabled when the bucket is created.
type ObjectLockError struct {
	Bucket string
	Mode   LockMode // the URL's object_lock mode
	Err    error    // nil when the bucket has no Object Lock configuration
}

func (e *ObjectLockError) Error() string {
	mode := strings.ToLower(string(e.Mode))
	if e.Err != nil {
		return fmt.Sprintf("object_lock=%s but the Object Lock configuration of bucket %s cannot be read: %v", mode, e.Bucket, e.Err)
	}
	return fmt.Sprintf("object_lock=%s but bucket %s does not have Object Lock enabled", mode, e.Bucket)
}

func (e *ObjectLockError) Unwrap() error { return e.Err }
