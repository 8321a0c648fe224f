package keyfile

import (
	"fmt"
	"os"
)

// WriteNew writes data to a new file with mode perm (0600 for a secret),
// synced, and never replaces an existing file: the error then wraps
// fs.ErrExist. On any failure the partly written file is removed. Errors
// name the path, never the data.
func WriteNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(path, perm) // the umask may have narrowed it
	}
	if err != nil {
		os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
