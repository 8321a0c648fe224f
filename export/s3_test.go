package export

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/parquet-go/parquet-go"

	"github.com/complyhq/comply/store/s3store/miniotest"
)

// TestS3 exports to a prefix of a real MinIO bucket: a rerun adds
// nothing, a run after more entries adds only them, a run stopped before
// its watermark is redone without duplicates, and the objects read back
// hold every entry once.
func TestS3(t *testing.T) {
	srv := miniotest.Start(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, miniotest.Plain)
	out := srv.URL(bucket, "exports/comply")

	now := testNow
	clock := func() time.Time { return now }
	l := openLogAt(t, t.TempDir(), false, clock)
	steps := []struct {
		name    string
		log     int
		crash   bool
		entries int64
	}{
		{"first", 500, false, 500},
		{"again", 0, false, 0},
		{"more", 200, false, 200},
		{"crash", 150, true, 150},
		{"redo", 50, false, 200},
		{"last", 0, false, 0},
	}
	for i, st := range steps {
		now = testNow.Add(time.Duration(i) * time.Hour)
		if st.log > 0 {
			// The first entries span three days; later ones the hour
			// before their step, after everything exported before.
			span := time.Hour
			if i == 0 {
				span = 72 * time.Hour
			}
			logAll(t, l, interactionsIn(st.log, uint64(200+i), now, span))
		}
		if st.crash {
			crashBeforeWatermark = func() error { return errors.New("simulated crash") }
		}
		res, err := Parquet(t.Context(), l, out, &Options{Settle: -1, Now: clock, FileRows: 120, RowGroupRows: 50})
		crashBeforeWatermark = nil
		if st.crash {
			if err == nil {
				t.Fatalf("%s: no error", st.name)
			}
			// A part of the stopped run (its third) that the redo does
			// not write again: the redo removes it.
			stale := "exports/comply/dt=" + now.Format(time.DateOnly) + "/part-local-000003-0099.parquet"
			if _, err := srv.Client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &bucket, Key: &stale, Body: strings.NewReader("stale")}); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if res.Entries != st.entries {
			t.Errorf("%s: exported %d, want %d", st.name, res.Entries, st.entries)
		}
		if st.entries == 0 && len(res.Files) != 0 {
			t.Errorf("%s: wrote %v", st.name, res.Files)
		}
		n, err := l.Count(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		ids := s3IDs(t, srv.Client, bucket, "exports/comply/")
		if int64(len(ids)) != n {
			t.Fatalf("%s: %d entries in the bucket, the store has %d", st.name, len(ids), n)
		}
		for id, c := range ids {
			if c != 1 {
				t.Fatalf("%s: entry %s exported %d times", st.name, id, c)
			}
		}
	}
	if _, err := srv.Client.HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: &bucket, Key: aws.String("exports/comply/" + watermarkName)}); err != nil {
		t.Errorf("watermark object: %v", err)
	}
}

// s3IDs reads every .parquet object under prefix and counts the ids.
func s3IDs(t *testing.T, c *s3.Client, bucket, prefix string) map[string]int {
	t.Helper()
	ids := map[string]int{}
	p := s3.NewListObjectsV2Paginator(c, &s3.ListObjectsV2Input{Bucket: &bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range page.Contents {
			key := aws.ToString(o.Key)
			if !strings.HasSuffix(key, ".parquet") {
				continue
			}
			if !strings.Contains(key, "/dt=") {
				t.Errorf("object %s: not in a dt= partition", key)
			}
			obj, err := c.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &bucket, Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			r := parquet.NewGenericReader[exportedRow](bytes.NewReader(b))
			rows := make([]exportedRow, r.NumRows())
			if n, err := r.Read(rows); n != len(rows) {
				t.Fatalf("%s: read %d of %d rows: %v", key, n, len(rows), err)
			}
			r.Close()
			for _, row := range rows {
				ids[row.ID]++
			}
		}
	}
	return ids
}
