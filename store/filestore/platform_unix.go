//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package filestore

import (
	"errors"
	"os"
	"syscall"
)

// checkPlatform returns nil: the file store runs here.
func checkPlatform() error { return nil }

// tryLock takes an exclusive advisory lock on f without waiting. It
// returns errLockHeld if another process holds it.
func tryLock(f *os.File) error {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return errLockHeld
	}
	return err
}

// mapFile maps the first size bytes of f read-only.
func mapFile(f *os.File, size int) ([]byte, error) {
	return syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
}

// unmapFile releases a mapping made by mapFile.
func unmapFile(m []byte) error { return syscall.Munmap(m) }

// dupFile returns a new handle on f's open file, named name: it reads the
// same file even if the path is later renamed or removed.
func dupFile(f *os.File, name string) (*os.File, error) {
	fd, err := syscall.Dup(int(f.Fd()))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// inode returns the file's inode number, or 0 if unknown.
func inode(fi os.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}
