package accesslog_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/store/memstore"
)

func newLog(t *testing.T) (*accesslog.Log, *comply.Logger) {
	t.Helper()
	l, err := comply.New(memstore.New(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return accesslog.New(l), l
}

var t0 = time.Date(2026, 3, 4, 5, 6, 7, 123456000, time.UTC)

// records are access records of every shape, in time order.
var records = []accesslog.Record{
	{Time: t0, Token: "auditor", Role: "read", Method: "GET", Route: "GET /v1/entries",
		Filters: map[string]string{"provider": "openai", "since": "24h", "meta.user": "a b&c"}, Count: 12, Remote: "10.0.0.7:51234", Status: 200},
	{Time: t0.Add(time.Second), Token: "auditor", Role: "read", Method: "GET", Route: "GET /v1/entries/{id}",
		IDs: []string{"01900000-0000-7000-8000-000000000001"}, Count: 1, Remote: "10.0.0.7:51234", Status: 200},
	{Time: t0.Add(2 * time.Second), Method: "POST", Route: "POST /v1/entries/{id}/decrypt",
		IDs: []string{"01900000-0000-7000-8000-000000000002"}, Remote: "[::1]:4000", Status: 401, Denied: true, Reason: "no token"},
	{Time: t0.Add(3 * time.Second), Token: "ci", Role: "ingest", Method: "GET", Route: "GET /v1/access",
		Remote: "127.0.0.1:9", Status: 403, Denied: true, Reason: "role ingest may not admin"},
	{Time: t0.Add(4 * time.Second), Token: "ops", Role: "admin", Method: "POST", Route: "POST /v1/verify",
		Remote: "127.0.0.1:9", Status: 500, Reason: "store unavailable"},
	{Time: t0.Add(5 * time.Second), Token: "ops", Role: "admin", Method: "GET", Route: "/v1/entries/{id}/proof",
		IDs: []string{"a", "b"}, Count: 2, Remote: "127.0.0.1:9", Status: 200},
}

func fill(t *testing.T, a *accesslog.Log) {
	t.Helper()
	for _, r := range records {
		if err := a.Record(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
}

func collect(t *testing.T, a *accesslog.Log, q accesslog.Query) []accesslog.Record {
	t.Helper()
	var out []accesslog.Record
	for r, err := range a.Records(t.Context(), q) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	a, _ := newLog(t)
	fill(t, a)
	got := collect(t, a, accesslog.Query{})
	if !reflect.DeepEqual(got, records) {
		t.Errorf("Records =\n%+v\nwant\n%+v", got, records)
	}
}

func TestQuery(t *testing.T) {
	a, l := newLog(t)
	fill(t, a)
	// An entry of another kind in the same store is never an access record.
	if _, err := l.Log(t.Context(), comply.Interaction{Provider: "openai", Model: "gpt", Input: "x", Time: t0, SafetyFailed: true, Metadata: map[string]string{"token": "ops"}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    accesslog.Query
		want []int // indexes into records
	}{
		{"all", accesslog.Query{}, []int{0, 1, 2, 3, 4, 5}},
		{"start inclusive", accesslog.Query{Start: t0.Add(4 * time.Second)}, []int{4, 5}},
		{"end inclusive", accesslog.Query{End: t0.Add(time.Second)}, []int{0, 1}},
		{"range", accesslog.Query{Start: t0.Add(time.Second), End: t0.Add(2 * time.Second)}, []int{1, 2}},
		{"token", accesslog.Query{Token: "ops"}, []int{4, 5}},
		{"denied", accesslog.Query{DeniedOnly: true}, []int{2, 3}},
		{"token and denied", accesslog.Query{Token: "ci", DeniedOnly: true}, []int{3}},
		{"no such token", accesslog.Query{Token: "nobody"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := collect(t, a, tt.q)
			var want []accesslog.Record
			for _, i := range tt.want {
				want = append(want, records[i])
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Records(%+v) =\n%+v\nwant\n%+v", tt.q, got, want)
			}
		})
	}
}

// TestEntryMapping pins how a record maps onto the seed's schema
// (docs/format.md, section 6): a change here changes the format. The
// metadata is stored in the seed's Python JSON form (", " and ": ").
func TestEntryMapping(t *testing.T) {
	a, l := newLog(t)
	fill(t, a)
	var got []comply.Entry
	for e, err := range l.Entries(t.Context(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e)
	}
	want := []struct {
		meta, input, output, blockReason string
		safetyPassed                     bool
	}{
		{`{"v": 1, "token": "auditor", "role": "read", "method": "GET", "route": "GET /v1/entries", "filters": {"meta.user": "a b&c", "provider": "openai", "since": "24h"}, "count": 12, "remote": "10.0.0.7:51234", "status": 200, "denied": false}`,
			"GET /v1/entries meta.user=a+b%26c&provider=openai&since=24h", "status=200 count=12", "", true},
		{`{"v": 1, "token": "auditor", "role": "read", "method": "GET", "route": "GET /v1/entries/{id}", "ids": ["01900000-0000-7000-8000-000000000001"], "count": 1, "remote": "10.0.0.7:51234", "status": 200, "denied": false}`,
			"GET /v1/entries/{id} ids=01900000-0000-7000-8000-000000000001", "status=200 count=1", "", true},
		{`{"v": 1, "method": "POST", "route": "POST /v1/entries/{id}/decrypt", "ids": ["01900000-0000-7000-8000-000000000002"], "count": 0, "remote": "[::1]:4000", "status": 401, "denied": true, "reason": "no token"}`,
			"POST /v1/entries/{id}/decrypt ids=01900000-0000-7000-8000-000000000002", "status=401 count=0", "no token", false},
	}
	for i, w := range want {
		e := got[i]
		if string(e.Metadata) != w.meta {
			t.Errorf("entry %d metadata:\n%s\nwant\n%s", i, e.Metadata, w.meta)
		}
		if e.InputHash != l.Hash(w.input) || e.OutputHash != l.Hash(w.output) {
			t.Errorf("entry %d: hashes are not of %q and %q", i, w.input, w.output)
		}
		if e.Provider != accesslog.Provider || e.Model != accesslog.Model || e.ConversationID != "" || e.InputContent != "" {
			t.Errorf("entry %d: provider %q model %q conversation %q content %q", i, e.Provider, e.Model, e.ConversationID, e.InputContent)
		}
		if e.SafetyPassed != w.safetyPassed || e.BlockReason != w.blockReason {
			t.Errorf("entry %d: safety_passed %v block_reason %q, want %v %q", i, e.SafetyPassed, e.BlockReason, w.safetyPassed, w.blockReason)
		}
		if !e.Timestamp.Equal(records[i].Time) {
			t.Errorf("entry %d: timestamp %v, want %v", i, e.Timestamp, records[i].Time)
		}
	}
	if got := accesslog.Describe(records[5]); got != "GET /v1/entries/{id}/proof ids=a,b" {
		t.Errorf("Describe of a route without its method = %q", got)
	}
}

func TestRecordDefaultsTime(t *testing.T) {
	a, _ := newLog(t)
	before := time.Now().Add(-time.Millisecond)
	if err := a.Record(t.Context(), accesslog.Record{Method: "GET", Route: "GET /v1/count", Status: 200}); err != nil {
		t.Fatal(err)
	}
	got := collect(t, a, accesslog.Query{})
	if len(got) != 1 || got[0].Time.Before(before) || got[0].Time.After(time.Now()) {
		t.Errorf("a record without a time: %+v, want now", got)
	}
}

func TestBadAccessEntry(t *testing.T) {
	a, l := newLog(t)
	bad := []any{
		map[string]any{"v": 2, "method": "GET"},
		map[string]any{"v": "one"},
		map[string]any{"v": 1, "denied": true}, // but safety passed
	}
	for _, md := range bad {
		if _, err := l.Log(t.Context(), comply.Interaction{Provider: accesslog.Provider, Model: accesslog.Model, Metadata: md}); err != nil {
			t.Fatal(err)
		}
	}
	fill(t, a)
	var n, bads int
	for _, err := range a.Records(t.Context(), accesslog.Query{}) {
		var fe *accesslog.FormatError
		switch {
		case errors.As(err, &fe):
			bads++
		case err != nil:
			t.Fatal(err)
		default:
			n++
		}
	}
	if n != len(records) || bads != len(bad) {
		t.Errorf("read %d records and %d format errors, want %d and %d", n, bads, len(records), len(bad))
	}
}

func TestRecordAfterClose(t *testing.T) {
	a, l := newLog(t)
	l.Close()
	if err := a.Record(context.Background(), records[0]); err == nil {
		t.Error("Record on a closed Logger succeeded")
	}
}

// TestConcurrentRecords records from many goroutines at once, as a server
// does: every record is kept, once.
func TestConcurrentRecords(t *testing.T) {
	a, _ := newLog(t)
	const workers, each = 8, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r := records[i%len(records)]
				r.Token = fmt.Sprintf("w%d", w)
				r.Time = time.Time{}
				if err := a.Record(t.Context(), r); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	for w := range workers {
		if got := len(collect(t, a, accesslog.Query{Token: fmt.Sprintf("w%d", w)})); got != each {
			t.Errorf("token w%d: %d records, want %d", w, got, each)
		}
	}
}
