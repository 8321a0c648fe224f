package llmsdk_test

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

// The helpers below are those of package llm's own tests that the SDK
// tests share.

// newTransport returns a Transport over a memory store, failing the test on
// any write failure it reports.
func newTransport(t *testing.T) *llm.Transport {
	t.Helper()
	l, err := comply.New(memstore.New(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	return &llm.Transport{Logger: l, OnError: func(err error) { t.Errorf("OnError: %v", err) }}
}

// entries returns every entry the transport's logger holds.
func entries(t *testing.T, tr *llm.Transport) []comply.Entry {
	t.Helper()
	var out []comply.Entry
	for e, err := range tr.Logger.Query(context.Background(), comply.Query{}) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

// oneEntry waits briefly for the transport's single entry and returns it.
// Entries are written before the response completes, so the wait only
// covers bodies closed on another goroutine.
func oneEntry(t *testing.T, tr *llm.Transport) comply.Entry {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		es := entries(t, tr)
		if len(es) == 1 {
			// No second entry may follow.
			time.Sleep(20 * time.Millisecond)
			if es2 := entries(t, tr); len(es2) != 1 {
				t.Fatalf("got %d entries, want exactly 1", len(es2))
			}
			return es[0]
		}
		if len(es) > 1 || time.Now().After(deadline) {
			for _, e := range es {
				t.Logf("entry: %s %s safety=%v reason=%q md=%s", e.Provider, e.Model, e.SafetyPassed, e.BlockReason, e.Metadata)
			}
			t.Fatalf("got %d entries, want exactly 1", len(es))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// meta decodes an entry's metadata.
func meta(t *testing.T, e comply.Entry) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(e.Metadata, &m); err != nil {
		t.Fatalf("metadata %s: %v", e.Metadata, err)
	}
	return m
}

func intv(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// noComplyHeaders fails if a header reached the upstream that it must not.
func noComplyHeaders(t *testing.T, h http.Header) {
	t.Helper()
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-comply-") {
			t.Errorf("header %s reached the upstream", k)
		}
	}
}

// failStore is a store whose every Append fails.
type failStore struct{ store.Store }

var errDiskFull = errors.New("disk full")

func (failStore) Append(context.Context, ...store.Record) error { return errDiskFull }

func (failStore) Scan(context.Context, store.Query) iter.Seq2[store.Record, error] {
	return func(func(store.Record, error) bool) {}
}

func (failStore) Close() error { return nil }

func newFailingTransport(t *testing.T, failOpen bool) (*llm.Transport, *[]error) {
	t.Helper()
	l, err := comply.New(failStore{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var errs []error
	return &llm.Transport{Logger: l, FailOpen: failOpen, OnError: func(err error) { errs = append(errs, err) }}, &errs
}

// failure returns the type and message of an entry's "error" metadata ("",
// "" if none). An error is not a safety outcome: it fails the test if the
// entry is a safety failure, or if no alert repeats the message.
func failure(t *testing.T, e comply.Entry) (typ, msg string) {
	t.Helper()
	em, _ := meta(t, e)["error"].(map[string]any)
	if em == nil {
		return "", ""
	}
	typ, _ = em["type"].(string)
	msg, _ = em["message"].(string)
	if !e.SafetyPassed || e.BlockReason != "" {
		t.Errorf("an error recorded as a safety failure: %q", e.BlockReason)
	}
	if !slices.Contains(e.Alerts, msg) {
		t.Errorf("alerts %q lack the error %q", e.Alerts, msg)
	}
	return typ, msg
}
