//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package filestore

import (
	"os"
	"runtime"
)

// checkPlatform returns an *UnsupportedError: the file store needs a Unix
// system. Open calls it first, so that nothing below is reached.
func checkPlatform() error { return &UnsupportedError{GOOS: runtime.GOOS} }

func tryLock(*os.File) error { return checkPlatform() }

func mapFile(*os.File, int) ([]byte, error) { return nil, checkPlatform() }

func unmapFile([]byte) error { return checkPlatform() }

func dupFile(*os.File, string) (*os.File, error) { return nil, checkPlatform() }

func inode(os.FileInfo) uint64 { return 0 }
