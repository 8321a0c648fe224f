package s3store_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/s3store"
	"github.com/complyhq/comply/store/s3store/miniotest"
	"github.com/complyhq/comply/store/storetest"
)

// v7 returns a version-7 UUID for ts, as comply.Logger makes them, with n
// in the random bits.
func v7(ts time.Time, n int) string {
	ms := ts.UnixMilli()
	return fmt.Sprintf("%08x-%04x-7%03x-8%03x-%012x", ms>>16, ms&0xffff, n%0x1000, n/0x1000%0x1000, n)
}

// recsAt returns one record per time, with version-7 ids.
func recsAt(times ...time.Time) []store.Record {
	out := make([]store.Record, len(times))
	for i, ts := range times {
		out[i] = storetest.Record(v7(ts, i), ts, "m")
	}
	return out
}

func mustCount(t *testing.T, s store.Store) int64 {
	t.Helper()
	n, err := s.Count(t.Context())
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	return n
}

// TestSeedInterop writes objects exactly as the Python library's
// S3Storage does, one per entry at prefix/YYYY-MM-DD/<id>.json, and reads
// them back with comply entry for entry; and checks that what comply
// writes in the seed layout is what the Python library would have written.
func TestSeedInterop(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Plain)
	const prefix = "prod/ai-audit/"
	f, err := os.ReadFile("../../testdata/seed-interop/hash_only/audit_20261125.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	var want []store.Record
	sc := bufio.NewScanner(bytes.NewReader(f))
	for i := 0; sc.Scan(); i++ {
		b := slices.Clone(sc.Bytes())
		id, ts, err := line.Peek(b)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, store.Record{ID: id, Time: ts, Line: b})
		body := b
		if i%2 == 1 {
			body = append(slices.Clone(b), '\n') // read both, with and without
		}
		key := prefix + ts.Format("2006-01-02") + "/" + id + ".json"
		if _, err := srv.Client.PutObject(t.Context(), &s3.PutObjectInput{
			Bucket: &bucket, Key: &key, Body: bytes.NewReader(body), ContentType: aws.String("application/json"),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if len(want) != 5 {
		t.Fatalf("fixture has %d entries", len(want))
	}
	s := openT(t, srv.URL(bucket, prefix, "layout=seed"), &s3store.Options{ReadOnly: true})
	defer s.Close()
	for _, w := range want {
		got, err := s.Get(t.Context(), w.ID)
		if err != nil {
			t.Fatalf("Get(%s): %v", w.ID, err)
		}
		if !bytes.Equal(got.Line, w.Line) || !got.Time.Equal(w.Time) {
			t.Fatalf("Get(%s) = %q", w.ID, got.Line)
		}
	}
	got := storetest.Collect(t, s, store.Query{})
	if !slices.Equal(storetest.IDs(got), storetest.IDs(want)) {
		t.Fatalf("Scan = %v, want %v", storetest.IDs(got), storetest.IDs(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].Line, want[i].Line) {
			t.Fatalf("entry %d differs", i)
		}
	}
	if n := mustCount(t, s); n != 5 {
		t.Fatalf("Count = %d", n)
	}
	q := store.Query{Start: want[1].Time, End: want[3].Time}
	if got := storetest.Collect(t, s, q); !slices.Equal(storetest.IDs(got), storetest.IDs(want[1:4])) {
		t.Fatalf("range Scan = %v", storetest.IDs(got))
	}

	// comply writing the seed layout: the Python library's key and body.
	w := openT(t, srv.URL(bucket, "by-comply/", "layout=seed"), nil)
	defer w.Close()
	if err := w.Append(t.Context(), want...); err != nil {
		t.Fatal(err)
	}
	for _, r := range want {
		out, err := srv.Client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: aws.String("by-comply/2026-11-25/" + r.ID + ".json")})
		if err != nil {
			t.Fatalf("object of %s not where the Python library looks: %v", r.ID, err)
		}
		body, _ := io.ReadAll(out.Body)
		out.Body.Close()
		if !bytes.Equal(body, r.Line) {
			t.Fatalf("object body %q, want the line", body)
		}
	}
}

// TestMonthEnd checks date ranges over the 29th to the 31st and a leap
// day, in both layouts (the Python library skips days 29-31).
func TestMonthEnd(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Plain)
	at := func(y int, m time.Month, d, h int) time.Time {
		return time.Date(y, m, d, h, 30, 0, 123456000, time.UTC)
	}
	recs := recsAt(
		at(2026, 1, 28, 12), at(2026, 1, 29, 0), at(2026, 1, 30, 12), at(2026, 1, 31, 23), at(2026, 2, 1, 0),
		at(2026, 4, 30, 12), at(2026, 5, 1, 0),
		at(2028, 2, 28, 12), at(2028, 2, 29, 12), at(2028, 3, 1, 1),
		at(2026, 12, 31, 23), at(2027, 1, 1, 0),
	)
	for _, layout := range []string{"segments", "seed"} {
		t.Run(layout, func(t *testing.T) {
			s := openT(t, srv.URL(bucket, newPrefix("monthend"), "layout="+layout), nil)
			defer s.Close()
			if err := s.Append(t.Context(), recs...); err != nil {
				t.Fatal(err)
			}
			day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
			tests := []struct {
				name string
				q    store.Query
				want []int
			}{
				{"29th to 31st", store.Query{Start: day(2026, 1, 29), End: day(2026, 2, 1).Add(-time.Microsecond)}, []int{1, 2, 3}},
				{"30th of April", store.Query{Start: day(2026, 4, 30), End: day(2026, 5, 1).Add(time.Hour)}, []int{5, 6}},
				{"leap day", store.Query{Start: day(2028, 2, 29), End: day(2028, 3, 1).Add(-time.Nanosecond)}, []int{8}},
				{"end of February 2028", store.Query{Start: day(2028, 2, 28), End: day(2028, 3, 1).Add(time.Hour)}, []int{7, 8}},
				{"new year", store.Query{Start: day(2026, 12, 31), End: day(2027, 1, 2)}, []int{10, 11}},
				{"all", store.Query{}, []int{0, 1, 2, 3, 4, 5, 6, 10, 11, 7, 8, 9}},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					var want []string
					for _, i := range tt.want {
						want = append(want, recs[i].ID)
					}
					if tt.name == "all" {
						want = nil
						sorted := slices.Clone(recs)
						slices.SortFunc(sorted, func(a, b store.Record) int { return a.Time.Compare(b.Time) })
						want = storetest.IDs(sorted)
					}
					if got := storetest.IDs(storetest.Collect(t, s, tt.q)); !slices.Equal(got, want) {
						t.Fatalf("Scan = %v, want %v", got, want)
					}
				})
			}
			for _, r := range recs {
				if _, err := s.Get(t.Context(), r.ID); err != nil {
					t.Fatalf("Get(%s): %v", r.ID, err)
				}
			}
		})
	}
}

// TestSameWriterName runs two stores with one writer name at once, as two
// processes that were misconfigured would: conditional writes keep either
// from overwriting the other's segments, and nothing is lost.
func TestSameWriterName(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Plain)
	url := srv.URL(bucket, newPrefix("samewriter"), "writer=twin")
	a, b := openT(t, url, nil), openT(t, url, nil)
	start := time.Now().UTC().Truncate(time.Second)
	var wg sync.WaitGroup
	for k, s := range []*s3store.Store{a, b} {
		wg.Go(func() {
			for i := range 40 {
				ts := start.Add(time.Duration(i*2+k) * time.Millisecond)
				if err := s.Append(t.Context(), storetest.Record(v7(ts, k), ts, "m")); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	a.Close()
	b.Close()
	r := openT(t, url, &s3store.Options{ReadOnly: true})
	defer r.Close()
	if n := mustCount(t, r); n != 80 {
		t.Fatalf("Count = %d, want 80", n)
	}
	if got := storetest.Collect(t, r, store.Query{}); len(got) != 80 {
		t.Fatalf("Scan found %d", len(got))
	}
	// A third run of the same writer adds to it.
	c := openT(t, url, nil)
	if err := c.Append(t.Context(), recsAt(start.Add(time.Second))...); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if n := mustCount(t, r); n != 81 {
		t.Fatalf("Count after a restart = %d, want 81", n)
	}
}

// segmentKeys lists the segment objects under prefix.
func segmentKeys(t *testing.T, srv *miniotest.Server, bucket, prefix string) []string {
	t.Helper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(srv.Client, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: aws.String(prefix + "segments/")})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			keys = append(keys, *o.Key)
		}
	}
	return keys
}

// TestObjectLock writes under COMPLIANCE and GOVERNANCE retention: the
// server refuses to delete a locked object, Delete reports it retained,
// and a retention cleanup deletes nothing, reports what the lock protects,
// and loses nothing.
func TestObjectLock(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Locked)
	old := time.Date(2020, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, mode := range []s3store.LockMode{s3store.Compliance, s3store.Governance} {
		t.Run(string(mode), func(t *testing.T) {
			prefix := newPrefix("lock")
			s := openT(t, srv.URL(bucket, prefix, "object_lock="+strings.ToLower(string(mode)), "retain_days=1"), nil)
			defer s.Close()
			var times []time.Time
			for i := range 20 {
				times = append(times, old.Add(time.Duration(i)*time.Minute))
			}
			recent := time.Now().UTC().Add(-time.Minute)
			times = append(times, recent, recent.Add(time.Second))
			recs := recsAt(times...)
			if err := s.Append(t.Context(), recs[:10]...); err != nil {
				t.Fatal(err)
			}
			if err := s.Append(t.Context(), recs[10:]...); err != nil {
				t.Fatal(err)
			}
			if err := s.WriteBlob(t.Context(), "ledger/"+s.WriterID()+"/checkpoint", []byte("1")); err != nil {
				t.Fatal(err)
			}
			if err := s.WriteBlob(t.Context(), "ledger/"+s.WriterID()+"/checkpoint", []byte("2")); err != nil {
				t.Fatalf("replacing a locked blob: %v", err)
			}

			// Every object carries the retention.
			keys := segmentKeys(t, srv, bucket, prefix)
			if len(keys) < 2 {
				t.Fatalf("%d segments", len(keys))
			}
			for _, k := range keys {
				out, err := srv.Client.GetObjectRetention(t.Context(), &s3.GetObjectRetentionInput{Bucket: &bucket, Key: &k})
				if err != nil {
					t.Fatalf("retention of %s: %v", k, err)
				}
				until := aws.ToTime(out.Retention.RetainUntilDate)
				if string(out.Retention.Mode) != string(mode) || until.Before(time.Now().Add(23*time.Hour)) || until.After(time.Now().Add(25*time.Hour)) {
					t.Fatalf("retention of %s = %s until %s", k, out.Retention.Mode, until)
				}
			}

			// The server refuses to delete a locked version, even for the root user.
			h, err := srv.Client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: &keys[0]})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := srv.Client.DeleteObject(t.Context(), &s3.DeleteObjectInput{Bucket: &bucket, Key: &keys[0], VersionId: h.VersionId}); err == nil {
				t.Fatalf("the server deleted a %s-locked object", mode)
			}

			err = s.Delete(t.Context(), recs[3].ID)
			var re *s3store.RetainedError
			if !errors.Is(err, s3store.ErrRetained) || !errors.As(err, &re) || re.Mode != mode || re.Until.Before(time.Now()) {
				t.Fatalf("Delete of a locked entry: %v", err)
			}

			rep, err := s.ExpireReport(t.Context(), recent.Add(-time.Hour))
			if err != nil {
				t.Fatalf("ExpireReport: %v", err)
			}
			if rep.Deleted != 0 || rep.Retained != 20 || rep.RetainedObjects < 1 || rep.RetainedUntil.Before(time.Now().Add(23*time.Hour)) {
				t.Fatalf("report = %+v; want 20 retained, none deleted", rep)
			}
			n, err := s.Expire(t.Context(), recent.Add(-time.Hour))
			if err != nil || n != 0 {
				t.Fatalf("Expire = %d, %v; want 0, nil", n, err)
			}
			// Nothing lost.
			if c := mustCount(t, s); c != 22 {
				t.Fatalf("Count = %d, want 22", c)
			}
			if got := storetest.Collect(t, s, store.Query{}); !slices.Equal(storetest.IDs(got), storetest.IDs(recs)) {
				t.Fatalf("Scan after a refused cleanup lost entries")
			}
			for _, r := range recs {
				if _, err := s.Get(t.Context(), r.ID); err != nil {
					t.Fatalf("Get(%s): %v", r.ID, err)
				}
			}
		})
	}
}

// TestLockRunsOut locks objects for a few seconds: a cleanup before the
// lock runs out keeps them, one after deletes them.
func TestLockRunsOut(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Locked)
	for _, layout := range []string{"segments", "seed"} {
		t.Run(layout, func(t *testing.T) {
			opts := &s3store.Options{}
			s3store.SetRetainFor(opts, 3*time.Second)
			s := openT(t, srv.URL(bucket, newPrefix("runsout"), "layout="+layout, "object_lock=compliance", "retain_days=1"), opts)
			defer s.Close()
			old := time.Date(2021, 6, 30, 23, 59, 0, 0, time.UTC)
			recs := recsAt(old, old.Add(time.Second), old.Add(2*time.Minute), time.Now().UTC())
			if err := s.Append(t.Context(), recs...); err != nil {
				t.Fatal(err)
			}
			locked := time.Now()
			rep, err := s.ExpireReport(t.Context(), old.Add(time.Minute))
			if err != nil || rep.Deleted != 0 || rep.Retained != 2 {
				t.Fatalf("report under lock = %+v, %v", rep, err)
			}
			time.Sleep(time.Until(locked.Add(4 * time.Second)))
			rep, err = s.ExpireReport(t.Context(), old.Add(time.Minute))
			if err != nil || rep.Deleted != 2 || rep.Retained != 0 {
				t.Fatalf("report after the lock ran out = %+v, %v", rep, err)
			}
			if got := storetest.Collect(t, s, store.Query{}); !slices.Equal(storetest.IDs(got), storetest.IDs(recs[2:])) {
				t.Fatalf("Scan = %v", storetest.IDs(got))
			}
			if err := s.Delete(t.Context(), recs[2].ID); err != nil {
				t.Fatalf("Delete after the lock ran out: %v", err)
			}
			if n := mustCount(t, s); n != 1 {
				t.Fatalf("Count = %d, want 1", n)
			}
		})
	}
}

// TestGroupCommitPuts measures the PUTs per entry: concurrent callers
// share segment PUTs, a bulk append takes one PUT, and buffered modes
// take one per flush.
func TestGroupCommitPuts(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Plain)
	start := time.Now().UTC().Truncate(time.Hour)
	if start.Hour() == 23 {
		start = start.Add(-time.Hour) // stay within one day
	}

	t.Run("64 callers", func(t *testing.T) {
		s := openT(t, srv.URL(bucket, newPrefix("gc64")), nil)
		defer s.Close()
		const callers, each = 64, 10
		var wg sync.WaitGroup
		for c := range callers {
			wg.Go(func() {
				for i := range each {
					ts := start.Add(time.Duration(c*each+i) * time.Millisecond)
					if err := s.Append(t.Context(), storetest.Record(v7(ts, c), ts, "m")); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		st := s.Stats()
		t.Logf("%d entries in %d PUTs: %.1f entries per PUT", st.Entries, st.Puts, float64(st.Entries)/float64(st.Puts))
		if st.Entries != callers*each || st.Puts > st.Entries/4 {
			t.Fatalf("%d entries took %d PUTs; want at most one PUT per 4 entries", st.Entries, st.Puts)
		}
		if n := mustCount(t, s); n != callers*each {
			t.Fatalf("Count = %d", n)
		}
	})
	t.Run("bulk", func(t *testing.T) {
		s := openT(t, srv.URL(bucket, newPrefix("bulk")), nil)
		defer s.Close()
		for b := range 5 {
			recs := storetest.Records(start.Add(time.Duration(b)*time.Minute), 1000)
			for i := range recs {
				recs[i] = storetest.Record(v7(recs[i].Time, b*1000+i), recs[i].Time, "m")
			}
			if err := s.Append(t.Context(), recs...); err != nil {
				t.Fatal(err)
			}
		}
		st := s.Stats()
		t.Logf("bulk: %d entries in %d PUTs", st.Entries, st.Puts)
		if st.Puts*500 > st.Entries {
			t.Fatalf("%d PUTs for %d entries; want at most one per 500", st.Puts, st.Entries)
		}
	})
	t.Run("none", func(t *testing.T) {
		s := openT(t, srv.URL(bucket, newPrefix("none"), "durability=none"), nil)
		for i := range 2000 {
			ts := start.Add(time.Duration(i) * time.Millisecond)
			if err := s.Append(t.Context(), storetest.Record(v7(ts, i), ts, "m")); err != nil {
				t.Fatal(err)
			}
		}
		if st := s.Stats(); st.Puts != 0 {
			t.Fatalf("durability=none stored %d segments before Close", st.Puts)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Puts != 1 || st.Entries != 2000 {
			t.Fatalf("Close stored %d entries in %d PUTs; want 2000 in 1", st.Entries, st.Puts)
		}
	})
	t.Run("interval", func(t *testing.T) {
		s := openT(t, srv.URL(bucket, newPrefix("interval"), "durability=interval", "flush_ms=200"), nil)
		defer s.Close()
		deadline := time.Now().Add(time.Second)
		n := 0
		for time.Now().Before(deadline) {
			ts := start.Add(time.Duration(n) * time.Millisecond)
			if err := s.Append(t.Context(), storetest.Record(v7(ts, n), ts, "m")); err != nil {
				t.Fatal(err)
			}
			n++
			time.Sleep(time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		st := s.Stats()
		t.Logf("interval: %d entries appended in 1s, %d stored in %d PUTs", n, st.Entries, st.Puts)
		if st.Entries != int64(n) || st.Puts < 3 || st.Puts > 8 {
			t.Fatalf("interval flushing: %d of %d entries stored in %d PUTs; want all, in about 5", st.Entries, n, st.Puts)
		}
	})
}

// TestOpenErrors checks the errors of Open: they say what is wrong and
// never repeat credentials.
func TestOpenErrors(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	plain := srv.Bucket(t, miniotest.Plain)
	tests := []struct {
		name string
		url  string
		env  map[string]string
		want string
	}{
		{"missing bucket", srv.URL("no-such-bucket-here", "p"), nil, "does not exist"},
		{"lock on a plain bucket", srv.URL(plain, "p", "object_lock=compliance", "retain_days=1"), nil, "does not have Object Lock enabled"},
		{"bad secret", srv.URL(plain, "p"), map[string]string{"AWS_SECRET_ACCESS_KEY": "wrong-secret-value"}, "access denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := s3store.Open(t.Context(), tt.url, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open error = %v, want %q", err, tt.want)
			}
			for _, secret := range []string{srv.SecretKey, "wrong-secret-value"} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error repeats a secret: %v", err)
				}
			}
		})
	}
	// A read-only store refuses writes.
	r := openT(t, srv.URL(plain, "p"), &s3store.Options{ReadOnly: true})
	defer r.Close()
	if err := r.Append(t.Context(), recsAt(time.Now())...); !errors.Is(err, store.ErrReadOnly) {
		t.Fatalf("Append to a read-only store: %v", err)
	}
	if r.WriterID() != "" {
		t.Fatalf("a read-only store has writer id %q", r.WriterID())
	}
	_ = types.ObjectLockModeCompliance
}

func TestRecordWriter(t *testing.T) {
	srv := miniotest.Shared(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Plain)
	url := srv.URL(bucket, newPrefix("recwriter"))
	a, b := openT(t, url, nil), openT(t, url, &s3store.Options{Writer: "app-b"})
	defer a.Close()
	defer b.Close()
	now := time.Now().UTC()
	ra, rb := recsAt(now), recsAt(now.Add(time.Millisecond))
	rb[0] = storetest.Record(v7(rb[0].Time, 99), rb[0].Time, "m")
	if err := a.Append(t.Context(), ra...); err != nil {
		t.Fatal(err)
	}
	if err := b.Append(t.Context(), rb...); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{ra[0].ID: a.WriterID(), rb[0].ID: "app-b"}
	got := storetest.Collect(t, a, store.Query{})
	if len(got) != 2 {
		t.Fatalf("Scan read %d", len(got))
	}
	for _, r := range got {
		if w, ok := a.RecordWriter(r); !ok || w != want[r.ID] {
			t.Fatalf("RecordWriter(%s) = %q, %v; want %q", r.ID, w, ok, want[r.ID])
		}
	}
	if _, ok := a.RecordWriter(store.Record{Path: "elsewhere/x"}); ok {
		t.Fatal("RecordWriter of a foreign path")
	}
}
