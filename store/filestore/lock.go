package filestore

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// A LockedError says that another process holds the directory's writer
// lock. Only one writer may append to a directory; readers need no lock.
type LockedError struct {
	Dir string
	PID int // the holder's process id, if it recorded one
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = "process " + strconv.Itoa(e.PID)
	}
	return fmt.Sprintf("%s is locked by a writer (%s); one writer per directory (hint: stop it, or open the directory read-only)", e.Dir, who)
}

// lockDir takes the exclusive writer lock of dir, recording our pid.
func lockDir(dir, path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := tryLock(f); err != nil {
		defer f.Close()
		if err == errLockHeld {
			b, _ := os.ReadFile(path)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			return nil, &LockedError{Dir: dir, PID: pid}
		}
		return nil, fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
