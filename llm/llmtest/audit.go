package llmtest

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/memstore"
)

// The helpers below are for tests of code that audits calls with an
// llm.Transport: a Logger over a memory store, the entries it holds, their
// metadata.

// MemLogger returns a Logger over a memory store, closed when the test
// ends.
func MemLogger(t testing.TB) *comply.Logger {
	t.Helper()
	l, err := comply.New(memstore.New(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// NewTransport returns a Transport over a memory store, failing the test
// on any write failure it reports.
func NewTransport(t testing.TB) *llm.Transport {
	t.Helper()
	return &llm.Transport{Logger: MemLogger(t), OnError: func(err error) { t.Errorf("OnError: %v", err) }}
}

// TransportEntries returns every entry the transport's Logger holds.
func TransportEntries(t testing.TB, tr *llm.Transport) []comply.Entry {
	t.Helper()
	return Entries(t, tr.Logger)
}

// OneEntry waits briefly for the transport's single entry and returns it.
// Entries are written before the response completes, so the wait only
// covers bodies closed on another goroutine.
func OneEntry(t testing.TB, tr *llm.Transport) comply.Entry {
	t.Helper()
	return WaitEntries(t, tr.Logger, 1)[0]
}

// Int returns a token count, or -1 for nil.
func Int(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// ErrDiskFull is the error of every Append of NewFailingTransport's store.
var ErrDiskFull = errors.New("disk full")

// failStore is a store whose every Append fails.
type failStore struct{ store.Store }

func (failStore) Append(context.Context, ...store.Record) error { return ErrDiskFull }

func (failStore) Scan(context.Context, store.Query) iter.Seq2[store.Record, error] {
	return func(func(store.Record, error) bool) {}
}

func (failStore) Close() error { return nil }

// NewFailingTransport returns a Transport whose every write fails, and the
// errors its OnError received.
func NewFailingTransport(t testing.TB, failOpen bool) (*llm.Transport, *[]error) {
	t.Helper()
	l, err := comply.New(failStore{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	return &llm.Transport{Logger: l, FailOpen: failOpen, OnError: func(err error) { errs = append(errs, err) }}, &errs
}

// Entries returns every entry the logger holds.
func Entries(t testing.TB, l *comply.Logger) []comply.Entry {
	t.Helper()
	var out []comply.Entry
	for e, err := range l.Query(context.Background(), comply.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// WaitEntries waits up to 5 s for the logger to hold n entries, checks that
// no more follow, and returns them: entries may be written on another
// goroutine, after the caller has its answer.
func WaitEntries(t testing.TB, l *comply.Logger, n int) []comply.Entry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		es := Entries(t, l)
		if len(es) >= n {
			time.Sleep(20 * time.Millisecond)
			if es = Entries(t, l); len(es) != n {
				t.Fatalf("%d entries, want %d", len(es), n)
			}
			return es
		}
		if time.Now().After(deadline) {
			for _, e := range es {
				t.Logf("entry: %s %s safety=%v reason=%q md=%s", e.Provider, e.Model, e.SafetyPassed, e.BlockReason, e.Metadata)
			}
			t.Fatalf("%d entries, want %d", len(es), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Meta decodes an entry's metadata.
func Meta(t testing.TB, e comply.Entry) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Metadata, &m); err != nil {
		t.Fatalf("metadata %s: %v", e.Metadata, err)
	}
	return m
}

// Failure returns the type and message of an entry's "error" metadata ("",
// "" if none). A failed call is not a safety outcome: Failure fails the
// test if the entry is also a safety failure, or if no alert repeats the
// message.
func Failure(t testing.TB, e comply.Entry) (typ, msg string) {
	t.Helper()
	em, _ := Meta(t, e)["error"].(map[string]any)
	if em == nil {
		return "", ""
	}
	typ, _ = em["type"].(string)
	msg, _ = em["message"].(string)
	if !e.SafetyPassed || e.BlockReason != "" {
		t.Errorf("an error recorded as a safety failure: %q", e.BlockReason)
	}
	if msg != "" && !slices.Contains(e.Alerts, msg) {
		t.Errorf("alerts %q lack the error %q", e.Alerts, msg)
	}
	return typ, msg
}

// NoComplyHeaders fails the test if an X-Comply-* header is in h: they
// must not reach the upstream.
func NoComplyHeaders(t testing.TB, h http.Header) {
	t.Helper()
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-comply-") {
			t.Errorf("header %s reached the upstream", k)
		}
	}
}
