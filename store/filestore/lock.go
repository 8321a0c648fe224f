package filestore

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// A LockedError says that another process holds the directory's writer
// lock. Only one writer may append to a directory; readers need no lock,
// so Options.ReadOnly opens it alongside the writer.
type LockedError struct {
	Dir string
	PID int // the holder's process id, if it recorded one
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("lock %s: held by a writer (%s); one writer per directory", e.Dir, who)
}

// lockDir takes the exclusive writer lock of dir, recording our pid.
func lockDir(dir, path string) (*os.File, error) {
	f, err := openFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		var ue *UnsafePathError
		if errors.As(err, &ue) {
			return nil, err
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := tryLock(f); err != nil {
		defer f.Close()
		if err == errLockHeld {
			b := make([]byte, 32)
			n, _ := f.ReadAt(b, 0)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:n])))
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
