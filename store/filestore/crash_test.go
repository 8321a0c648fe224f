package filestore_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

const crashEnv = "COMPLY_CRASH_WRITER_DIR"

// TestMain lets the test binary act as the writer process that
// TestCrashKeepsAcknowledgedEntries kills.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashWriter(dir)
		return
	}
	os.Exit(m.Run())
}

// crashWriter appends from several goroutines until it is killed, printing
// each id once Append has acknowledged it.
func crashWriter(dir string) {
	s, err := filestore.Open(context.Background(), dir, &filestore.Options{RotationSize: 64 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			start := time.Now().UTC()
			for i := 0; ; i++ {
				n := 1 + i%7 // batches of 1 to 7
				recs := storetest.Records(start.Add(time.Duration(i)*time.Millisecond), n)
				for j := range recs {
					recs[j] = storetest.Record(fmt.Sprintf("%08x-%04x-7000-8000-%012x", os.Getpid(), w, i*8+j), recs[j].Time, "crash")
				}
				if err := s.Append(context.Background(), recs...); err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(1)
				}
				mu.Lock()
				for _, r := range recs {
					fmt.Fprintln(out, r.ID)
				}
				out.Flush()
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// TestCrashKeepsAcknowledgedEntries kills a writer process with SIGKILL at
// random moments, many times over one directory, and checks after each
// kill that every acknowledged id is present exactly once and that no
// reader meets a partial line.
func TestCrashKeepsAcknowledgedEntries(t *testing.T) {
	rounds := 25
	if testing.Short() {
		rounds = 5
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		time.Sleep(time.Duration(20+rng.IntN(180)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		n := 0
		for id := range lines {
			if len(id) == 36 { // a line cut by the kill was never acknowledged
				acked[id] = true
				n++
			}
		}
		cmd.Wait()

		// A reader first: no partial line, whatever the kill left.
		r, err := filestore.Open(t.Context(), dir, &filestore.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for rec, err := range r.Scan(t.Context(), store.Query{}) {
			if err != nil {
				t.Fatalf("round %d: reader: %v", round, err)
			}
			seen[rec.ID]++
		}
		r.Close()
		for id := range acked {
			if seen[id] != 1 {
				t.Fatalf("round %d: acknowledged id %s present %d times", round, id, seen[id])
			}
		}
		for id, c := range seen {
			if c != 1 {
				t.Fatalf("round %d: id %s present %d times", round, id, c)
			}
		}
		// Then a writer, which repairs, and counts the same.
		s, err := filestore.Open(t.Context(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		if c, _ := s.Count(t.Context()); c != int64(len(seen)) {
			t.Fatalf("round %d: Count = %d, scan saw %d", round, c, len(seen))
		}
		s.Close()
		t.Logf("round %d: %d acknowledged this round, %d in all, %d stored", round, n, len(acked), len(seen))
	}
	if len(acked) == 0 {
		t.Fatalf("the writer acknowledged nothing")
	}
}
