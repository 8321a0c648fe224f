package comply_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/memstore"
)

func memStore() store.Store { return memstore.New(0) }

// clock is a settable clock for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func newLogger(t *testing.T, opts *comply.Options) *comply.Logger {
	t.Helper()
	l := openDir(t, t.TempDir(), opts)
	t.Cleanup(func() { l.Close() })
	return l
}

// openDir returns a Logger over the file store in dir; the caller closes it.
func openDir(t *testing.T, dir string, opts *comply.Options) *comply.Logger {
	t.Helper()
	s, err := filestore.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := comply.New(s, opts)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return l
}

func sha(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

var uuidV7 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestLogDefaults(t *testing.T) {
	l := newLogger(t, nil)
	id, err := l.Log(t.Context(), comply.Interaction{
		Input:    "What is the weather today?",
		Output:   "I don't have access to real-time weather data.",
		Provider: "openai",
		Model:    "gpt-4",
		Latency:  150 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !uuidV7.MatchString(id) {
		t.Fatalf("id %q is not a canonical UUIDv7", id)
	}
	e, err := l.Get(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if !e.SafetyPassed {
		t.Errorf("the zero Interaction logged a safety failure")
	}
	if e.InputHash != sha("What is the weather today?") || e.InputContent != "" || e.OutputContent != "" {
		t.Errorf("hash-only entry: %+v", e)
	}
	if e.LatencyMS != 150 || e.Latency() != 150*time.Millisecond || e.Provider != "openai" || e.Model != "gpt-4" {
		t.Errorf("fields: %+v", e)
	}
	if string(e.Metadata) != "{}" {
		t.Errorf("metadata %s, want {}", e.Metadata)
	}
	if time.Since(e.Timestamp) > time.Minute || e.Timestamp.Location() != time.UTC {
		t.Errorf("timestamp %v", e.Timestamp)
	}
}

func TestSafetyEvent(t *testing.T) {
	l := newLogger(t, nil)
	id, err := l.Log(t.Context(), comply.Interaction{
		Input: "How to hack a bank?", Provider: "openai", Model: "gpt-4",
		SafetyFailed:       true,
		DetectorsTriggered: []string{"harmful_content", "illegal_activity"},
		BlockReason:        "Content violates safety policy",
		Alerts:             []string{"Harmful request detected", "User warned"},
		Latency:            50 * time.Millisecond,
		Metadata:           map[string]any{"user_id": "user-789", "blocked_at": "input"},
	})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := l.Get(t.Context(), id)
	if e.SafetyPassed || e.BlockReason != "Content violates safety policy" || !slices.Equal(e.DetectorsTriggered, []string{"harmful_content", "illegal_activity"}) || len(e.Alerts) != 2 {
		t.Fatalf("safety event: %+v", e)
	}
	if e.OutputHash != sha("") {
		t.Fatalf("empty output hash %s", e.OutputHash)
	}
	if string(e.Metadata) != `{"blocked_at": "input", "user_id": "user-789"}` {
		t.Fatalf("metadata %s", e.Metadata)
	}
}

func TestMetadataSurvivesExactly(t *testing.T) {
	l := newLogger(t, nil)
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"raw keeps key order and numbers", json.RawMessage(`{"zeta":1,"alpha":2.0,"big":12345678901234567890,"tiny":1e-07,"n":null,"l":[]}`),
			`{"zeta": 1, "alpha": 2.0, "big": 12345678901234567890, "tiny": 1e-07, "n": null, "l": []}`},
		{"map sorted, float stays float", map[string]any{"b": 2.0, "a": 1, "c": "ü"}, `{"a": 1, "b": 2.0, "c": "\u00fc"}`},
		{"struct", struct {
			UserID string `json:"user_id"`
			Dept   string `json:"department"`
		}{"user-123", "finance"}, `{"user_id": "user-123", "department": "finance"}`},
		{"nil", nil, `{}`},
		{"nil map", map[string]any(nil), `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := l.Log(t.Context(), comply.Interaction{Input: "x", Metadata: tt.in})
			if err != nil {
				t.Fatal(err)
			}
			e, _ := l.Get(t.Context(), id)
			if string(e.Metadata) != tt.want {
				t.Fatalf("metadata %s, want %s", e.Metadata, tt.want)
			}
		})
	}
	if _, err := l.Log(t.Context(), comply.Interaction{Metadata: []string{"not", "an", "object"}}); err == nil {
		t.Fatalf("non-object metadata was accepted")
	}
}

func TestBadInputIsRejectedOrKeptLosslessly(t *testing.T) {
	key, _ := seal.GenerateKey()
	l := newLogger(t, &comply.Options{Keyring: seal.NewKeyring(key), StoreContent: true})
	// A field stored as a JSON string must be valid UTF-8: rejected, naming it.
	_, err := l.Log(t.Context(), comply.Interaction{Input: "ok", Provider: "open\xffai"})
	var ie *comply.InvalidError
	if !errors.As(err, &ie) || ie.Field != "provider" {
		t.Fatalf("invalid UTF-8 provider: %v", err)
	}
	if n, _ := l.Count(t.Context()); n != 0 {
		t.Fatalf("a rejected interaction was stored")
	}
	// Content is hashed and encrypted as bytes: kept exactly.
	bad := "caf\xe9 \xff\xfe"
	id, err := l.Log(t.Context(), comply.Interaction{Input: bad, Output: "fine"})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := l.Get(t.Context(), id)
	got, err := l.DecryptContent(e.InputContent)
	if err != nil || got != bad || e.InputHash != sha(bad) {
		t.Fatalf("invalid UTF-8 content came back as %q (%v), hash %s", got, err, e.InputHash)
	}
}

func TestLargeInput(t *testing.T) {
	big := strings.Repeat("0123456789", 1<<20) // 10 MiB
	l := newLogger(t, nil)
	id, err := l.Log(t.Context(), comply.Interaction{Input: big, Output: "ok"})
	if err != nil {
		t.Fatalf("hash-only 10 MiB input: %v", err)
	}
	if e, _ := l.Get(t.Context(), id); e.InputHash != sha(big) {
		t.Fatalf("hash of the 10 MiB input differs")
	}
	key, _ := seal.GenerateKey()
	enc := newLogger(t, &comply.Options{Keyring: seal.NewKeyring(key), StoreContent: true})
	if _, err := enc.Log(t.Context(), comply.Interaction{Input: big}); !errors.Is(err, comply.ErrEntryTooLarge) {
		t.Fatalf("encrypted 10 MiB input: %v, want ErrEntryTooLarge", err)
	}
	roomy := newLogger(t, &comply.Options{Keyring: seal.NewKeyring(key), StoreContent: true, MaxEntrySize: 32 << 20})
	id, err = roomy.Log(t.Context(), comply.Interaction{Input: big})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := roomy.Get(t.Context(), id)
	if got, err := roomy.DecryptContent(e.InputContent); err != nil || got != big {
		t.Fatalf("10 MiB round trip failed: %v", err)
	}
}

func TestEncryption(t *testing.T) {
	if _, err := comply.New(memStore(), &comply.Options{StoreContent: true}); !errors.Is(err, comply.ErrNoEncryption) {
		t.Fatalf("StoreContent without a key: %v", err)
	}
	k1, _ := seal.GenerateKey()
	k2, _ := seal.GenerateKey()
	l, _ := comply.New(memStore(), &comply.Options{Keyring: seal.NewKeyring(k1), StoreContent: true})
	id, _ := l.Log(t.Context(), comply.Interaction{Input: "Tell me about patient records", Output: "Patient records are confidential..."})
	e, _ := l.Get(t.Context(), id)
	if got, err := l.DecryptContent(e.InputContent); err != nil || got != "Tell me about patient records" {
		t.Fatalf("decrypt: %q, %v", got, err)
	}
	// Rotation: a ring with a new primary still reads the old key's content.
	rotated, _ := comply.New(memStore(), &comply.Options{Keyring: seal.NewKeyring(k2, k1)})
	if got, err := rotated.DecryptContent(e.OutputContent); err != nil || got != "Patient records are confidential..." {
		t.Fatalf("decrypt with a rotated ring: %q, %v", got, err)
	}
	wrong, _ := comply.New(memStore(), &comply.Options{Keyring: seal.NewKeyring(k2)})
	_, err := wrong.DecryptContent(e.InputContent)
	if !errors.Is(err, seal.ErrWrongKey) {
		t.Fatalf("wrong key: %v", err)
	}
	if strings.Contains(err.Error(), k1.Encode()) || strings.Contains(err.Error(), k2.Encode()) {
		t.Fatalf("error reveals a key")
	}
	plain, _ := comply.New(memStore(), nil)
	if _, err := plain.DecryptContent(e.InputContent); !errors.Is(err, comply.ErrNoEncryption) {
		t.Fatalf("decrypt without a key: %v", err)
	}
}

func TestNotFound(t *testing.T) {
	l := newLogger(t, nil)
	_, err := l.Get(t.Context(), "0199c6f8-d620-77e7-b458-943e08b4aa7b")
	var nf *comply.NotFoundError
	if !errors.As(err, &nf) || !errors.Is(err, comply.ErrNotFound) || nf.ID != "0199c6f8-d620-77e7-b458-943e08b4aa7b" {
		t.Fatalf("unknown id: %v", err)
	}
	if err := l.Delete(t.Context(), "nope"); !errors.Is(err, comply.ErrNotFound) {
		t.Fatalf("Delete of an unknown id: %v", err)
	}
}

func TestEntriesQueryAndStats(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 29, 10, 0, 0, 0, time.UTC)}
	l := newLogger(t, &comply.Options{Now: c.Now})
	var ids []string
	for i := range 10 {
		in := comply.Interaction{
			Input: "q", Output: "a", Provider: []string{"openai", "anthropic"}[i%2], Model: []string{"gpt-4", "claude-3-opus"}[i%2],
			ConversationID: map[bool]string{true: "conv-1"}[i < 3], SafetyFailed: i == 7,
			Latency: time.Duration(10*(i+1)) * time.Millisecond, Metadata: map[string]any{"user_id": "u" + string(rune('0'+i%3)), "n": i},
		}
		id, err := l.Log(t.Context(), in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
		c.Set(c.t.Add(time.Hour))
	}
	all := collect(t, l.Entries(t.Context(), time.Time{}, time.Time{}))
	if !slices.Equal(entryIDs(all), ids) {
		t.Fatalf("Entries = %v", entryIDs(all))
	}
	// Inclusive bounds: exactly entries 2..5.
	got := collect(t, l.Entries(t.Context(), all[2].Timestamp, all[5].Timestamp))
	if !slices.Equal(entryIDs(got), ids[2:6]) {
		t.Fatalf("inclusive range = %v", entryIDs(got))
	}
	tests := []struct {
		q    comply.Query
		want []int
	}{
		{comply.Query{Provider: "anthropic"}, []int{1, 3, 5, 7, 9}},
		{comply.Query{Model: "gpt-4", ConversationID: "conv-1"}, []int{0, 2}},
		{comply.Query{SafetyFailed: true}, []int{7}},
		{comply.Query{Metadata: map[string]string{"user_id": "u1"}}, []int{1, 4, 7}},
		{comply.Query{Metadata: map[string]string{"n": "4"}}, []int{4}},
		{comply.Query{Start: all[8].Timestamp, Provider: "openai"}, []int{8}},
	}
	for _, tt := range tests {
		var want []string
		for _, i := range tt.want {
			want = append(want, ids[i])
		}
		if got := entryIDs(collect(t, l.Query(t.Context(), tt.q))); !slices.Equal(got, want) {
			t.Errorf("Query(%+v) = %v, want %v", tt.q, got, want)
		}
	}
	st, err := l.Stats(t.Context(), all[5].Timestamp)
	if err != nil {
		t.Fatal(err)
	}
	if st.TotalEntries != 10 || st.WindowEntries != 5 || st.SafetyFailures != 1 || st.AvgLatencyMS != 80 || math.Abs(st.P95LatencyMS-100) > 100*0.01 || len(st.ByModel) != 2 {
		t.Fatalf("stats: %+v", st)
	}
}

func TestCleanupExpired(t *testing.T) {
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := newLogger(t, &comply.Options{Now: c.Now, RetentionDays: 30})
	for range 5 {
		l.Log(t.Context(), comply.Interaction{Input: "old"})
		c.Set(c.t.Add(24 * time.Hour))
	}
	c.Set(time.Date(2025, 2, 3, 12, 0, 0, 0, time.UTC)) // cutoff: Jan 4, 12:00
	keep, _ := l.Log(t.Context(), comply.Interaction{Input: "new"})
	n, err := l.CleanupExpired(t.Context())
	if err != nil || n != 4 {
		t.Fatalf("CleanupExpired = %d, %v; want 4", n, err)
	}
	if _, err := l.Get(t.Context(), keep); err != nil {
		t.Fatal(err)
	}
	if c, _ := l.Count(t.Context()); c != 2 {
		t.Fatalf("Count = %d", c)
	}
}

func TestScheduledCleanup(t *testing.T) {
	if _, err := comply.New(memStore(), &comply.Options{CleanupDaily: "2am"}); err == nil {
		t.Fatalf("bad CleanupDaily accepted")
	}
	// The clock stands 20 ms before 02:00, so the job runs almost at once.
	now := time.Date(2026, 3, 1, 1, 59, 59, 980_000_000, time.Local)
	s := memStore()
	l, err := comply.New(s, &comply.Options{CleanupDaily: "02:00", RetentionDays: 1, Now: func() time.Time { return now },
		ErrorLog: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	old := storeRecord(t, now.AddDate(0, 0, -3))
	s.Append(t.Context(), old)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := l.Get(t.Context(), old.ID); errors.Is(err, comply.ErrNotFound) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled cleanup did not run")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestConcurrentLog(t *testing.T) {
	l := newLogger(t, nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]bool{}
	for range 64 {
		wg.Go(func() {
			for range 20 {
				id, err := l.Log(t.Context(), comply.Interaction{Input: "x"})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				seen[id] = true
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if n, _ := l.Count(t.Context()); n != 1280 || len(seen) != 1280 {
		t.Fatalf("Count = %d, distinct ids %d; want 1280", n, len(seen))
	}
}

func TestIDsSortByTime(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 29, 10, 0, 0, 0, time.UTC)}
	l, _ := comply.New(memStore(), &comply.Options{Now: c.Now})
	var ids []string
	for range 100 {
		id, _ := l.Log(t.Context(), comply.Interaction{})
		ids = append(ids, id)
	}
	if !slices.IsSorted(ids) {
		t.Fatalf("ids do not sort in time order")
	}
}

func TestDamagedLinesAreReported(t *testing.T) {
	dir := t.TempDir()
	l := openDir(t, dir, nil)
	for range 3 {
		l.Log(t.Context(), comply.Interaction{Input: "x"})
	}
	l.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "audit_*.jsonl"))
	f, _ := os.OpenFile(files[0], os.O_WRONLY|os.O_APPEND, 0)
	f.WriteString("{\"id\": \"broken\n") // a garbage line, then a torn one
	f.WriteString(`{"id": "0199`)
	f.Close()
	l = openDir(t, dir, nil)
	defer l.Close()
	var good int
	var bad []*store.CorruptionError
	for _, err := range l.Entries(t.Context(), time.Time{}, time.Time{}) {
		var ce *store.CorruptionError
		if errors.As(err, &ce) {
			bad = append(bad, ce)
		} else if err != nil {
			t.Fatal(err)
		} else {
			good++
		}
	}
	if good != 3 || len(bad) != 1 || bad[0].Path != filepath.Base(files[0]) || bad[0].Offset == 0 {
		t.Fatalf("good %d, bad %v", good, bad)
	}
}

func collect(t *testing.T, seq func(func(comply.Entry, error) bool)) []comply.Entry {
	t.Helper()
	var out []comply.Entry
	for e, err := range seq {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

func entryIDs(es []comply.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func TestKeyedHashes(t *testing.T) {
	key := []byte("per-deployment secret")
	l := newLogger(t, &comply.Options{HashKey: key})
	id, err := l.Log(t.Context(), comply.Interaction{Input: "yes", Output: "no"})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := l.Get(t.Context(), id)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("yes"))
	want := "hmac-sha256:" + hex.EncodeToString(mac.Sum(nil))
	if e.InputHash != want || comply.HashHMAC(key, "yes") != want || l.Hash("yes") != want {
		t.Fatalf("keyed hash %s, want %s", e.InputHash, want)
	}
	if e.OutputHash == sha("no") || e.OutputHash != comply.HashHMAC(key, "no") {
		t.Fatalf("output hash %s is not the keyed one", e.OutputHash)
	}
}
