package filestore

import (
	"errors"
	"fmt"
)

// An UnsupportedError says that the file store does not run on this
// operating system. It needs a Unix system (Linux, macOS or a BSD) for its
// writer lock (flock) and its memory-mapped indexes. It wraps
// errors.ErrUnsupported.
type UnsupportedError struct {
	GOOS string // the operating system, as runtime.GOOS names it
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("filestore: not supported on %s: the file store needs a Unix system (Linux, macOS or a BSD); the memory store (memstore) and the S3 store (s3store) run everywhere", e.GOOS)
}

// Unwrap returns errors.ErrUnsupported.
func (e *UnsupportedError) Unwrap() error { return errors.ErrUnsupported }

// errLockHeld is returned by tryLock when another process holds the lock.
var errLockHeld = errors.New("lock held")
