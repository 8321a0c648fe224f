package s3store_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/s3store"
	"github.com/complyhq/comply/store/s3store/miniotest"
	"github.com/complyhq/comply/store/storetest"
)

// The test binary doubles as a writer process: with writerEnv set to a
// store URL, TestMain runs writerMain instead of the tests.
const (
	writerEnv = "COMPLY_S3_WRITER"
	countEnv  = "COMPLY_S3_WRITER_N"
	tagEnv    = "COMPLY_S3_WRITER_TAG"
)

// writerMain appends COMPLY_S3_WRITER_N entries (0: until killed) in
// batches of 1 to 7, stamped in increasing time, and prints "writer ID",
// then "ack ID MICROS" for each entry once Append has acknowledged it, and
// finally records its count in a blob of its own.
func writerMain() int {
	ctx := context.Background()
	s, err := s3store.Open(ctx, os.Getenv(writerEnv), nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	n, _ := strconv.Atoi(os.Getenv(countEnv))
	tag, _ := strconv.Atoi(os.Getenv(tagEnv))
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "writer", s.WriterID())
	out.Flush()
	var last time.Time
	done := 0
	for i := 0; n == 0 || done < n; i++ {
		b := 1 + i%7
		if n > 0 {
			b = min(b, n-done)
		}
		recs := make([]store.Record, b)
		for j := range recs {
			ts := time.Now().UTC().Truncate(time.Microsecond)
			if !ts.After(last) {
				ts = last.Add(time.Microsecond)
			}
			last = ts
			recs[j] = storetest.Record(v7(ts, tag<<20|(done+j)), ts, "w"+strconv.Itoa(tag))
		}
		if err := s.Append(ctx, recs...); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		for _, r := range recs {
			fmt.Fprintln(out, "ack", r.ID, r.Time.UnixMicro())
		}
		out.Flush()
		done += b
	}
	if err := s.WriteBlob(ctx, "ledger/"+s.WriterID()+"/count", []byte(strconv.Itoa(done))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// A writerProc is a writer process and what it printed.
type writerProc struct {
	cmd    *exec.Cmd
	writer string
	acks   map[string]int64 // id -> time, µs
	first  chan struct{}    // closed at the first acknowledgement
	done   chan struct{}
}

func startWriter(t *testing.T, srv *miniotest.Server, url string, n, tag int) *writerProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), srv.Env()...),
		writerEnv+"="+url, countEnv+"="+strconv.Itoa(n), tagEnv+"="+strconv.Itoa(tag))
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &writerProc{cmd: cmd, acks: map[string]int64{}, first: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			switch {
			case len(f) == 2 && f[0] == "writer":
				p.writer = f[1]
			case len(f) == 3 && f[0] == "ack" && len(f[1]) == 36:
				us, err := strconv.ParseInt(f[2], 10, 64)
				if err == nil {
					if len(p.acks) == 0 {
						close(p.first)
					}
					p.acks[f[1]] = us
				}
			}
		}
	}()
	return p
}

func (p *writerProc) wait(t *testing.T) {
	t.Helper()
	<-p.done
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("writer %s: %v", p.writer, err)
	}
}

// TestManyWriterProcesses runs several writer processes at once against
// one bucket and prefix, then a restart of a named one, and checks that
// no writer overwrote another, that reads see every writer merged in time
// order, and that counts, gets, range queries and cleanup add up.
func TestManyWriterProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts writer processes")
	}
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Plain)
	prefix := newPrefix("many")
	base := srv.URL(bucket, prefix)
	urls := []string{base, base, base + "&durability=interval&flush_ms=100", base + "&writer=named-app", base + "&flush_bytes=4096"}
	const each = 400
	var procs []*writerProc
	for i, u := range urls {
		procs = append(procs, startWriter(t, srv, u, each, i))
	}
	for _, p := range procs {
		p.wait(t)
	}
	restart := startWriter(t, srv, base+"&writer=named-app", 50, len(urls))
	restart.wait(t)
	procs = append(procs, restart)

	acks := map[string]int64{}
	writers := map[string]int{}
	for _, p := range procs {
		writers[p.writer] += len(p.acks)
		for id, us := range p.acks {
			acks[id] = us
		}
	}
	if len(acks) != len(urls)*each+50 || len(writers) != len(urls) {
		t.Fatalf("%d acknowledged entries from %d writers", len(acks), len(writers))
	}

	r := openT(t, base, &s3store.Options{ReadOnly: true})
	defer r.Close()
	if n := mustCount(t, r); n != int64(len(acks)) {
		t.Fatalf("Count = %d, want %d", n, len(acks))
	}
	// Every entry once, all writers merged in time order.
	got := storetest.Collect(t, r, store.Query{})
	seen := map[string]bool{}
	for i, rec := range got {
		if seen[rec.ID] {
			t.Fatalf("%s read twice", rec.ID)
		}
		seen[rec.ID] = true
		if _, ok := acks[rec.ID]; !ok {
			t.Fatalf("unknown id %s", rec.ID)
		}
		if i > 0 && rec.Time.Before(got[i-1].Time) {
			t.Fatalf("scan out of time order at %d: %s after %s", i, rec.Time, got[i-1].Time)
		}
	}
	if len(got) != len(acks) {
		t.Fatalf("Scan read %d entries, want %d", len(got), len(acks))
	}
	// No writer wrote under another's name; no segment was written twice.
	keys := segmentKeys(t, srv, bucket, prefix)
	names := map[string]bool{}
	for _, k := range keys {
		file := k[strings.LastIndexByte(k, '/')+1:]
		f := strings.Split(file, "_")
		if _, ok := writers[f[0]]; !ok {
			t.Fatalf("segment %s of an unknown writer", k)
		}
		id := strings.Join(f[:3], "_")
		if names[id] {
			t.Fatalf("two segments named %s", id)
		}
		names[id] = true
	}
	t.Logf("%d entries from %d writers in %d segments", len(acks), len(writers), len(keys))
	// Each writer keeps its own blobs.
	blobs, err := r.ListBlobs(t.Context(), "ledger/")
	if err != nil {
		t.Fatal(err)
	}
	if len(blobs) != len(writers) {
		t.Fatalf("blobs %v, want one per writer", blobs)
	}
	for _, p := range procs[:len(urls)] {
		b, err := r.ReadBlob(t.Context(), "ledger/"+p.writer+"/count")
		if err != nil {
			t.Fatal(err)
		}
		if p.writer != "named-app" && string(b) != strconv.Itoa(each) {
			t.Fatalf("writer %s blob %q", p.writer, b)
		}
	}
	// Gets of a sample, and a range query across writers.
	ids := make([]string, 0, len(acks))
	for id := range acks {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b string) int { return int(acks[a] - acks[b]) })
	for range 40 {
		id := ids[rand.IntN(len(ids))]
		rec, err := r.Get(t.Context(), id)
		if err != nil || rec.Time.UnixMicro() != acks[id] {
			t.Fatalf("Get(%s) = %v, %v", id, rec.Time, err)
		}
	}
	// (Entries of different writers may share a microsecond: compare sets.)
	lo, hi := acks[ids[len(ids)/4]], acks[ids[len(ids)/2]]
	q := store.Query{Start: time.UnixMicro(lo), End: time.UnixMicro(hi)}
	if got, want := storetest.IDs(storetest.Collect(t, r, q)), between(acks, lo, hi); !sameSet(got, want) {
		t.Fatalf("range query read %d entries, want %d", len(got), len(want))
	}
	// Cleanup sees every writer too.
	w := openT(t, base, nil)
	defer w.Close()
	expired := between(acks, 0, hi-1)
	n, err := w.Expire(t.Context(), time.UnixMicro(hi))
	if err != nil || n != int64(len(expired)) {
		t.Fatalf("Expire = %d, %v; want %d", n, err, len(expired))
	}
	if c := mustCount(t, r); c != int64(len(ids)-len(expired)) {
		t.Fatalf("Count after Expire = %d", c)
	}
	if got, want := storetest.IDs(storetest.Collect(t, r, store.Query{})), between(acks, hi, 1<<62); !sameSet(got, want) {
		t.Fatalf("Scan after Expire read %d entries, want %d", len(got), len(want))
	}
}

// between returns the ids whose times lie within [lo, hi] µs.
func between(acks map[string]int64, lo, hi int64) []string {
	var out []string
	for id, us := range acks {
		if us >= lo && us <= hi {
			out = append(out, id)
		}
	}
	return out
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestKilledWriterKeepsAcknowledged kills writer processes with SIGKILL at
// random moments: every entry Append acknowledged is stored, once.
func TestKilledWriterKeepsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts writer processes")
	}
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Plain)
	base := srv.URL(bucket, newPrefix("killed"))
	acks := map[string]int64{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Go(func() {
			p := startWriter(t, srv, base, 0, i)
			select {
			case <-p.first:
			case <-p.done:
			}
			time.Sleep(time.Duration(100+rand.IntN(1000)) * time.Millisecond)
			p.cmd.Process.Signal(syscall.SIGKILL)
			<-p.done
			p.cmd.Wait()
			mu.Lock()
			defer mu.Unlock()
			for id, us := range p.acks {
				acks[id] = us
			}
		})
	}
	wg.Wait()
	if len(acks) == 0 {
		t.Fatal("the writers acknowledged nothing")
	}
	r := openT(t, base, &s3store.Options{ReadOnly: true})
	defer r.Close()
	seen := map[string]int{}
	for _, rec := range storetest.Collect(t, r, store.Query{}) {
		seen[rec.ID]++
	}
	for id := range acks {
		if seen[id] != 1 {
			t.Fatalf("acknowledged %s stored %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s stored %d times", id, n)
		}
	}
	if c := mustCount(t, r); c != int64(len(seen)) {
		t.Fatalf("Count = %d, scan saw %d", c, len(seen))
	}
	t.Logf("%d acknowledged, %d stored", len(acks), len(seen))
}
