package ledger

import (
	"errors"
	"fmt"
	"io/fs"
)

var (
	// ErrNoSigner is returned by Open when Options.Signer is nil: a
	// writer must sign its checkpoints. [WriteKeyFiles] makes a key pair.
	ErrNoSigner = errors.New("no signer key")

	// ErrInvalidKey is wrapped by the errors of NewSigner, NewVerifier,
	// LoadSigner and LoadVerifier for text that is not an Ed25519 note key
	// of the expected kind, as [GenerateKey] and [WriteKeyFiles] make.
	ErrInvalidKey = errors.New("invalid key")

	// ErrKeyExists is returned by WriteKeyFiles when a file it would write
	// already exists: it never overwrites a key.
	ErrKeyExists = errors.New("key file already exists")

	// ErrNotCheckpointed is wrapped by Prove for an entry that no
	// checkpoint signs yet: a running writer signs it within its
	// checkpoint interval, and a line the ledger never adopted cannot be
	// proven.
	ErrNotCheckpointed = errors.New("entry is in no checkpoint yet")
)

// A KeyFileModeError says that LoadSigner refused a signer key file
// because users other than its owner can access it (Mode&0o077 != 0).
// Restricting the file to its owner (mode 0600) fixes it.
type KeyFileModeError struct {
	Path string
	Mode fs.FileMode // the permission bits of the file
}

func (e *KeyFileModeError) Error() string {
	return fmt.Sprintf("ledger: signer key file %s has mode %04o: users other than its owner can access it", e.Path, e.Mode)
}

// ErrCheckpoint is wrapped by the error of a checkpoint that could not be
// written. The entries it would have signed are stored and journaled: the
// next checkpoint, or the next writer, signs them.
var ErrCheckpoint = errors.New("checkpoint failed")
