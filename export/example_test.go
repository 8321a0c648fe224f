package export_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/export"
	"github.com/complyhq/comply/store/memstore"
)

func ExampleParquet() {
	ctx := context.Background()
	now := time.Date(2026, 3, 4, 12, 0, 0, 0, time.UTC)
	logger, err := comply.New(memstore.New(0), &comply.Options{Now: func() time.Time { return now }})
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()
	for i := range 3 {
		_, err := logger.Log(ctx, comply.Interaction{
			Input: fmt.Sprint("question ", i), Output: "answer", Model: "gpt-4.1",
			Time:     now.Add(-time.Duration(i) * 24 * time.Hour),
			Metadata: map[string]string{"user_id": "u1"},
		})
		if err != nil {
			log.Fatal(err)
		}
	}
	out, err := os.MkdirTemp("", "export")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(out)

	// Export everything up to a minute ago, with user_id as a column.
	opts := &export.Options{Promote: []string{"user_id"}, Now: func() time.Time { return now.Add(time.Hour) }}
	res, err := export.Parquet(ctx, logger, out, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Entries, "entries")
	for _, f := range res.Files {
		fmt.Println(f)
	}
	// A second run finds nothing new.
	res, err = export.Parquet(ctx, logger, out, opts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Entries, "entries")
	// Output:
	// 3 entries
	// dt=2026-03-02/part-local-000001-0000.parquet
	// dt=2026-03-03/part-local-000001-0000.parquet
	// dt=2026-03-04/part-local-000001-0000.parquet
	// 0 entries
}
