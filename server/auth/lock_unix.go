//go:build unix

package auth

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive flock on the file at path (created, mode
// 0600, if missing), waiting for other processes to let it go, and returns
// the function that lets it go.
func lockFile(path string) (unlock func(), err error) {
	l, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(l.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	return func() { l.Close() }, nil // closing the file lets the lock go
}

// inode returns the file's inode number, or 0 if unknown.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
