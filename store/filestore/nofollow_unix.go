//go:build unix

package filestore

import "syscall"

// noFollow makes an open fail on a symlink: nothing under the store's
// directory is ever followed out of it.
const noFollow = syscall.O_NOFOLLOW
