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
	for range n / 10 {
		f()
	}
	best := time.Duration(1 << 62)
	for range 5 {
		start := threadCPU()
		for range n {
			f()
		}
		if d := (threadCPU() - start) / time.Duration(n); d < best {
			best = d
		}
	}
	t.Logf("%-20s %6d ns/op (thread CPU, best of 5)", name, best)
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
	n := 100000
	measure(t, "Decode hash_only", n, func() { Decode(line, &x) })
	measure(t, "Decode encrypted", n, func() { Decode(enc, &x) })
	measure(t, "Decode general", n, func() { Decode(compact, &x) })
	measure(t, "Peek", n, func() { Peek(line) })
	buf := make([]byte, 0, 1024)
	measure(t, "Append", n, func() { buf, _ = Append(buf[:0], &e) })
	meta := []byte(e.Metadata)
	measure(t, "metadata validate", n, func() { p := parser{data: meta}; p.value(0) })
	measure(t, "timestamp", n, func() { parseTimestampOK(line[61:87]) })
	t.Logf("line length %d, ts %q", len(line), line[61:87])
}

func TestLoop(t *testing.T) {
	what := os.Getenv("LINE_LOOP")
	if what == "" {
		t.Skip()
	}
	n := 100000
	if os.Getenv("LINE_LOOP_N") == "0" {
		n = 0
	}
	e := benchEntry()
	line, _ := Append(nil, &e)
	var x Entry
	buf := make([]byte, 0, 1024)
	meta := []byte(e.Metadata)
	enc := readLines(t, encryptedPath)[1]
	for range n {
		switch what {
		case "decode":
			Decode(line, &x)
		case "enc":
			Decode(enc, &x)
		case "append":
			buf, _ = Append(buf[:0], &e)
		case "peek":
			Peek(line)
		case "meta":
			p := parser{data: meta}
			p.value(0)
		}
	}
}
