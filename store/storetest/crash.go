package storetest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/complyhq/comply/store"
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

// WriteUntilKilled is the writer side of KillAfter: callers goroutines
// append the records newRecord makes (caller w's i-th) with appendFn, and
// print each id on its own line of standard output once appendFn returned,
// until the process is killed. A failed append ends the process with
// status 1.
func WriteUntilKilled(callers int, newRecord func(w, i int) store.Record, appendFn func(context.Context, ...store.Record) error) {
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range callers {
		wg.Go(func() {
			for i := 0; ; i++ {
				rec := newRecord(w, i)
				if err := appendFn(context.Background(), rec); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				fmt.Fprintln(out, rec.ID)
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}
