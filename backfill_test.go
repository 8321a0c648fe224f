package comply_test

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
)

// TestBackfill: an Interaction.Time stamps the entry, its id and its day
// file; zero means now; a time far in the future or before 1970 is refused.
func TestBackfill(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	paris := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		at   time.Time
		want time.Time // the entry's timestamp; zero for an error
	}{
		{"zero is now", time.Time{}, now.Add(time.Millisecond)},
		{"last year", time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC), time.Date(2025, 3, 14, 9, 26, 53, 589793000, time.UTC)},
		{"another zone is stored in UTC", time.Date(2026, 1, 1, 0, 30, 0, 0, paris), time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC)},
		{"truncated to the microsecond", time.Date(2024, 2, 29, 1, 2, 3, 123456789, time.UTC), time.Date(2024, 2, 29, 1, 2, 3, 123456000, time.UTC)},
		{"the epoch", time.Unix(0, 0), time.Unix(0, 0).UTC()},
		{"a little ahead of the clock", now.Add(30 * time.Second), now.Add(30 * time.Second)},
		{"too far ahead", now.Add(2 * time.Minute), time.Time{}},
		{"before 1970", time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC), time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			clk := &clock{t: now}
			l := openDir(t, dir, &comply.Options{Now: clk.Now})
			defer l.Close()
			id, err := l.Log(t.Context(), comply.Interaction{Input: "q", Time: tt.at})
			if tt.want.IsZero() {
				var ie *comply.InvalidError
				if !errors.As(err, &ie) || ie.Field != "timestamp" {
					t.Fatalf("err = %v, want an *InvalidError for timestamp", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			e, err := l.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if !e.Timestamp.Equal(tt.want) {
				t.Errorf("timestamp = %s, want %s", e.Timestamp, tt.want)
			}
			ms, err := strconv.ParseInt(strings.ReplaceAll(id[:13], "-", ""), 16, 64)
			if err != nil || ms != tt.want.UnixMilli() {
				t.Errorf("id %s holds %d ms, want %d", id, ms, tt.want.UnixMilli())
			}
			day, err := os.ReadFile(filepath.Join(dir, "audit_"+tt.want.Format("20060102")+".jsonl"))
			if err != nil || !strings.Contains(string(day), id) {
				t.Errorf("day file of %s does not hold %s: %v", tt.want.Format(time.DateOnly), id, err)
			}
			n := 0
			for _, err := range l.Entries(t.Context(), tt.want, tt.want) {
				if err != nil {
					t.Fatal(err)
				}
				n++
			}
			if n != 1 {
				t.Errorf("a query at the entry's time found %d entries, want 1", n)
			}
		})
	}
}
