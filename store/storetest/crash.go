package storetest

import (
	"bufio"
	"bytes"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// KillAfter starts cmd, a writer that prints the id of each entry it
// acknowledged on its own line of standard output, reads ids until it has
// at least n (or timeout passed), SIGKILLs it, and returns every id it
// printed, the last ones included: the acknowledged entries that a crash
// test then looks for.
func KillAfter(t testing.TB, cmd *exec.Cmd, n int, timeout time.Duration) []string {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	sc := bufio.NewScanner(out)
	deadline := time.Now().Add(timeout)
	for len(ids) < n && time.Now().Before(deadline) && sc.Scan() {
		ids = append(ids, sc.Text())
	}
	cmd.Process.Signal(syscall.SIGKILL)
	for sc.Scan() {
		ids = append(ids, sc.Text())
	}
	cmd.Wait()
	if len(ids) == 0 {
		t.Fatalf("the writer acknowledged nothing: %s", stderr.String())
	}
	return ids
}
