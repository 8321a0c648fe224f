package seal

import (
	"fmt"
	"io/fs"
)

// ErrSharedSigningKey is wrapped, together with [ErrInvalidKey], by the
// error of a keyring that holds two keys with the same signing half and
// different encryption halves: content under one cannot be told from
// content under the other. Generate every key independently, with
// [GenerateKey].
var ErrSharedSigningKey = fmt.Errorf("%w: two keys share a signing half", ErrInvalidKey)

// A KeyFileModeError says that [LoadKeyring] refused a key file because
// users other than its owner can access it (Mode&0o077 != 0). Restricting
// the file to its owner (mode 0600) fixes it.
type KeyFileModeError struct {
	Path string
	Mode fs.FileMode // the permission bits of the file
}

func (e *KeyFileModeError) Error() string {
	return fmt.Sprintf("seal: key file %s has mode %04o: users other than its owner can access it", e.Path, e.Mode)
}
