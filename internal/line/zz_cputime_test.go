package line

import (
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"
)

func threadCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(1, &ru) // RUSAGE_THREAD
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func measure(t *testing.T, name string, n int, f func()) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	best := time.Duration(1 << 62)
	for range 15 {
		start := threadCPU()
		for range n {
			f()
		}
		if d := (threadCPU() - start) / time.Duration(n); d < best {
			best = d
		}
	}
	t.Logf("%-20s %6d ns/op (thread CPU, best of 15)", name, best)
}

func TestCPUTime(t *testing.T) {
	if os.Getenv("LINE_CPUTIME") == "" {
		t.Skip()
	}
	e := benchEntry()
	line, _ := Append(nil, &e)
	enc := readLines(t, encryptedPath)[1]
	compact := compactLine(t, line)
	var x Entry
	n := 50000
	measure(t, "Decode hash_only", n, func() { Decode(line, &x) })
	measure(t, "Decode encrypted", n, func() { Decode(enc, &x) })
	measure(t, "Decode general", n, func() { Decode(compact, &x) })
	measure(t, "Peek", n, func() { Peek(line) })
	buf := make([]byte, 0, 1024)
	measure(t, "Append", n, func() { buf, _ = Append(buf[:0], &e) })
}
