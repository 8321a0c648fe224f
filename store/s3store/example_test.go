package s3store_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/s3store"
)

// Open a store on S3 (credentials from the standard AWS chain), or on an
// S3-compatible server with endpoint=, and read back a day of entries.
func ExampleOpen() {
	ctx := context.Background()
	s, err := s3store.Open(ctx, "s3://my-audit-bucket/prod/ai-audit?region=us-west-2", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	day := time.Date(2026, 1, 29, 0, 0, 0, 0, time.UTC)
	for rec, err := range s.Scan(ctx, store.Query{Start: day, End: day.Add(24*time.Hour - time.Microsecond)}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(rec.ID, rec.Time)
	}
}

// Write every object under a COMPLIANCE-mode Object Lock for seven years,
// and clean up what has expired and is no longer locked.
func ExampleStore_ExpireReport() {
	ctx := context.Background()
	s, err := s3store.Open(ctx, "s3://worm-bucket/audit?region=us-east-1&object_lock=compliance&retain_days=2557", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	r, err := s.ExpireReport(ctx, time.Now().AddDate(-7, 0, 0))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("deleted %d entries; %d expired entries are still locked, until %s\n", r.Deleted, r.Retained, r.RetainedUntil)
}
