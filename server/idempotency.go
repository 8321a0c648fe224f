package server

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/complyhq/comply/store"
)

// Idempotency keys are kept at least this long.
const idempotencyTTL = 24 * time.Hour

// idempotencyPrefix starts the names of the blobs that keep the keys: one
// append-only blob a UTC day, "server/idempotency/[WRITER/]YYYYMMDD".
const idempotencyPrefix = "server/idempotency/"

// An idempotency table remembers, per token and Idempotency-Key, the body
// hash and the ids of a stored batch.
type idempotency struct {
	ap     store.Appender // nil: memory only
	prefix string         // of this writer's blobs
	now    func() time.Time

	mu sync.Mutex
	m  map[string]*idemEntry
	n  int // inserts since the last prune

	blobMu sync.Mutex // serialises appends
}

type idemEntry struct {
	key  string
	body [32]byte
	ids  []string
	at   time.Time
	done chan struct{} // closed once stored or abandoned
	ok   bool          // stored: ids hold
}

type idemStatus int

const (
	idemNew idemStatus = iota
	idemReplay
	idemMismatch
	idemCanceled
)

// idemRecord is a line of an idempotency blob.
type idemRecord struct {
	Key  string   `json:"k"`   // sha256(token NUL key), hex
	Body string   `json:"b"`   // sha256(body), hex
	IDs  []string `json:"ids"` // the entries stored
	At   int64    `json:"at"`  // unix seconds
}

// openIdempotency loads the keys of today and yesterday (UTC) and removes
// this writer's older blobs.
func openIdempotency(ctx context.Context, ap store.Appender, writer string, now func() time.Time) (*idempotency, error) {
	t := &idempotency{ap: ap, prefix: idempotencyPrefix, now: now, m: map[string]*idemEntry{}}
	if writer != "" {
		t.prefix += blobSafe(writer) + "/"
	}
	if ap == nil {
		return t, nil
	}
	names, err := ap.ListBlobs(ctx, idempotencyPrefix)
	if err != nil {
		return nil, fmt.Errorf("server: idempotency keys: %w", err)
	}
	today := now().UTC()
	keep := map[string]bool{today.Format("20060102"): true, today.AddDate(0, 0, -1).Format("20060102"): true}
	for _, name := range names {
		day := name[strings.LastIndexByte(name, '/')+1:]
		if !keep[day] {
			if strings.HasPrefix(name, t.prefix) && !strings.Contains(name[len(t.prefix):], "/") {
				if err := ap.RemoveBlob(ctx, name); err != nil {
					return nil, fmt.Errorf("server: idempotency keys: %w", err)
				}
			}
			continue
		}
		b, err := ap.ReadBlob(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("server: idempotency keys: %w", err)
		}
		for ln := range bytes.Lines(b) {
			var r idemRecord
			if json.Unmarshal(ln, &r) != nil || len(r.Body) != 64 {
				continue // a torn last line
			}
			e := &idemEntry{key: r.Key, ids: r.IDs, at: time.Unix(r.At, 0), done: make(chan struct{}), ok: true}
			if _, err := hex.Decode(e.body[:], []byte(r.Body)); err != nil {
				continue
			}
			close(e.done)
			t.m[r.Key] = e
		}
	}
	return t, nil
}

// blobSafe keeps the characters a blob name may hold.
func blobSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, s)
}

// begin looks key up. A key seen with the same body is a replay (the
// entry holds the ids), with another body a mismatch; a new key returns
// an entry that the caller must commit or abandon. A request whose key is
// in flight waits for it.
func (t *idempotency) begin(ctx context.Context, key string, body [32]byte) (*idemEntry, idemStatus) {
	for {
		t.mu.Lock()
		e, ok := t.m[key]
		if ok && e.ok && t.now().Sub(e.at) > 2*idempotencyTTL {
			delete(t.m, key)
			ok = false
		}
		if !ok {
			e = &idemEntry{key: key, body: body, done: make(chan struct{})}
			t.m[key] = e
			t.prune()
			t.mu.Unlock()
			return e, idemNew
		}
		t.mu.Unlock()
		select {
		case <-e.done:
		case <-ctx.Done():
			return nil, idemCanceled
		}
		if !e.ok {
			continue // abandoned: try again
		}
		if e.body != body {
			return e, idemMismatch
		}
		return e, idemReplay
	}
}

// prune drops the entries older than twice the TTL, now and then. t.mu is
// held.
func (t *idempotency) prune() {
	t.n++
	if t.n < 1024 {
		return
	}
	t.n = 0
	cut := t.now().Add(-2 * idempotencyTTL)
	for k, e := range t.m {
		if e.ok && e.at.Before(cut) {
			delete(t.m, k)
		}
	}
}

// commit records the ids of a stored batch, durably, before the answer.
func (t *idempotency) commit(ctx context.Context, e *idemEntry, ids []string) error {
	e.ids, e.at = ids, t.now()
	var err error
	if t.ap != nil {
		rec, _ := json.Marshal(idemRecord{Key: e.key, Body: hex.EncodeToString(e.body[:]), IDs: ids, At: e.at.Unix()})
		name := t.prefix + e.at.UTC().Format("20060102")
		ctx = context.WithoutCancel(ctx)
		t.blobMu.Lock()
		err = t.ap.AppendBlob(ctx, name, append(rec, '\n'))
		t.blobMu.Unlock()
		if err == nil {
			err = t.ap.SyncBlob(ctx, name)
		}
	}
	if err != nil {
		err = fmt.Errorf("server: idempotency key: %w", err)
	}
	t.mu.Lock()
	e.ok = true
	t.mu.Unlock()
	close(e.done)
	return err
}

// abandon forgets a key whose batch was not stored, waking its waiters.
func (t *idempotency) abandon(e *idemEntry) {
	t.mu.Lock()
	if t.m[e.key] == e {
		delete(t.m, e.key)
	}
	t.mu.Unlock()
	close(e.done)
}
