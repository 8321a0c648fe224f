package comply_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/memstore"
)

// The seed tutorial's first example: file storage, hash-only mode.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "ai-audit")
	defer os.RemoveAll(dir)

	s, err := filestore.Open(ctx, dir, nil) // audit_YYYYMMDD.jsonl files in dir
	if err != nil {
		log.Fatal(err)
	}
	logger, err := comply.New(s, nil) // the Logger closes s
	if err != nil {
		log.Fatal(err)
	}
	defer logger.Close()

	id, err := logger.Log(ctx, comply.Interaction{
		Input:    "What is the weather today?",
		Output:   "I don't have access to real-time weather data.",
		Provider: "openai",
		Model:    "gpt-4",
		Latency:  150 * time.Millisecond,
	})
	if err != nil {
		log.Fatal(err)
	}
	entry, _ := logger.Get(ctx, id)
	fmt.Println("input hash:", entry.InputHash)
	fmt.Println("content stored:", entry.InputContent != "")
	fmt.Println("safety passed:", entry.SafetyPassed)
	// Output:
	// input hash: 37ca1b2394aa9d8d04e8a9511d254e28c084dc6a6f7326eaa3f898e2c3491560
	// content stored: false
	// safety passed: true
}

// Encrypted content: the seed's EncryptionManager with store_content=True.
func Example_encryption() {
	ctx := context.Background()
	key, _ := seal.GenerateKey() // save key.Encode() somewhere safe: AUDIT_ENCRYPTION_KEY
	logger, _ := comply.New(memstore.New(0), &comply.Options{
		Keyring:      seal.NewKeyring(key),
		StoreContent: true,
	})
	defer logger.Close()

	id, _ := logger.Log(ctx, comply.Interaction{
		Input:    "Tell me about patient records",
		Output:   "Patient records are confidential...",
		Provider: "anthropic",
		Model:    "claude-3-opus",
		Latency:  200 * time.Millisecond,
	})
	entry, _ := logger.Get(ctx, id)
	original, _ := logger.DecryptContent(entry.InputContent)
	fmt.Println("Original:", original)
	// Output: Original: Tell me about patient records
}

// A blocked request, logged with the detectors that fired.
func Example_safetyEvent() {
	ctx := context.Background()
	logger, _ := comply.New(memstore.New(1000), nil) // the seed's MemoryStorage(max_entries=1000)
	defer logger.Close()

	logger.Log(ctx, comply.Interaction{
		Input:              "How to hack a bank?",
		Output:             "", // blocked before the model answered
		Provider:           "openai",
		Model:              "gpt-4",
		SafetyFailed:       true,
		DetectorsTriggered: []string{"harmful_content", "illegal_activity"},
		BlockReason:        "Content violates safety policy",
		Alerts:             []string{"Harmful request detected", "User warned"},
		Latency:            50 * time.Millisecond,
		Metadata:           map[string]any{"user_id": "user-789", "blocked_at": "input"},
	})
	for e, err := range logger.Query(ctx, comply.Query{SafetyFailed: true}) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(e.BlockReason, e.DetectorsTriggered, string(e.Metadata))
	}
	// Output: Content violates safety policy [harmful_content illegal_activity] {"blocked_at": "input", "user_id": "user-789"}
}

// Query by time range and compute the seed's health metrics.
func ExampleLogger_Entries() {
	ctx := context.Background()
	logger, _ := comply.New(memstore.New(0), nil)
	defer logger.Close()
	for i, ms := range []int{120, 480, 300} {
		logger.Log(ctx, comply.Interaction{
			Input: fmt.Sprint("question ", i), Output: "answer", Model: "gpt-4",
			SafetyFailed: i == 1, Latency: time.Duration(ms) * time.Millisecond,
		})
	}
	end := time.Now()
	start := end.Add(-7 * 24 * time.Hour) // the last 7 days, bounds inclusive
	var n, failures int
	var total float64
	for e, err := range logger.Entries(ctx, start, end) {
		if err != nil {
			log.Fatal(err)
		}
		n++
		total += e.LatencyMS
		if !e.SafetyPassed {
			failures++
		}
	}
	fmt.Printf("Found %d entries\nSafety failures: %d\nAverage latency: %.2fms\n", n, failures, total/float64(n))

	stats, _ := logger.Stats(ctx, end.Add(-time.Hour))
	// Percentiles are within 1% of the exact value (480 here).
	fmt.Printf("hourly volume: %d p95 latency: %.0fms\n", stats.WindowEntries, stats.P95LatencyMS)
	// Output:
	// Found 3 entries
	// Safety failures: 1
	// Average latency: 300.00ms
	// hourly volume: 3 p95 latency: 478ms
}

// Retention: entries older than RetentionDays are removed by
// CleanupExpired, or every day at CleanupDaily.
func ExampleLogger_CleanupExpired() {
	ctx := context.Background()
	logger, _ := comply.New(memstore.New(0), &comply.Options{RetentionDays: 365})
	defer logger.Close()
	logger.Log(ctx, comply.Interaction{Input: "recent"})
	deleted, _ := logger.CleanupExpired(ctx)
	fmt.Printf("Deleted %d expired entries\n", deleted)
	// Output: Deleted 0 expired entries
}

// Backfill: an interaction recorded elsewhere is logged later at the time
// it happened. Its timestamp, id and day file follow Time.
func ExampleInteraction_backfill() {
	ctx := context.Background()
	logger, _ := comply.New(memstore.New(0), nil)
	defer logger.Close()
	id, err := logger.Log(ctx, comply.Interaction{
		Input:        "What is 2+2?",
		Output:       "4",
		Model:        "gpt-4",
		InputTokens:  comply.Tokens(8),
		OutputTokens: comply.Tokens(1),
		Time:         time.Date(2025, 6, 1, 9, 30, 0, 0, time.UTC),
	})
	if err != nil {
		log.Fatal(err)
	}
	entry, _ := logger.Get(ctx, id)
	fmt.Println(entry.Timestamp.Format(time.RFC3339), *entry.InputTokens, *entry.OutputTokens)
	// Output: 2025-06-01T09:30:00Z 8 1
}
