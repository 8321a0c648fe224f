// Package consoletest runs comply serve's API and web console over a
// memory store of sample entries, for the console's tests and
// benchmarks: the signed log, encrypted content, a real access log, and
// a token of every role.
package consoletest

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/server"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/server/auth"
	"github.com/complyhq/comply/server/console"
	"github.com/complyhq/comply/store/memstore"
)

// The secrets of the test tokens, one per role.
const (
	IngestSecret  = "cmp_ingest-secret"
	ReadSecret    = "cmp_read-secret"
	DecryptSecret = "cmp_decrypt-secret"
	AdminSecret   = "cmp_admin-secret"
)

// Tokens is an Authenticator of the test tokens; deleting a secret
// revokes it.
type Tokens map[string]auth.Token

// Authenticate implements auth.Authenticator.
func (m Tokens) Authenticate(_ context.Context, secret string) (auth.Token, error) {
	if t, ok := m[secret]; ok {
		return t, nil
	}
	return auth.Token{}, auth.ErrUnknownToken
}

// An Env is a running server with the console.
type Env struct {
	URL     string // the server's base URL
	Logger  *comply.Logger
	Access  *accesslog.Log
	Console *console.Console
	Server  *server.Server
	Tokens  Tokens
	IDs     []string // the sample entries, oldest first
}

// Options of Start.
type Options struct {
	Entries int       // sample entries to log; zero means 250
	Now     time.Time // the newest entry's time; zero means now
}

// Models, Providers and Conversations of the sample entries: entry i has
// Models[i%len(Models)] and so on; every 7th fails safety (detector pii,
// block reason "personal data", or pii and medical, "medical advice").
var (
	Models        = []string{"gpt-4o", "gpt-4o-mini", "claude-sonnet-4", "gemini-2.5-pro"}
	Providers     = []string{"openai", "openai", "anthropic", "google"}
	Conversations = []string{"conv-alpha", "conv-beta", "conv-gamma", "", "", ""}
)

// The sample entry MultilineIndex (in Env.IDs) has the input
// MultilineInput: line breaks and spaces at the ends, which find by
// content must send as they are.
const (
	MultilineIndex = 5
	MultilineInput = "question 5:\n  what is the refund policy?\n"
)

// OutageFrom is how many hours before Options.Now the sample's ledger
// stops writing checkpoints, for four hours: the timeline's downtime.
const OutageFrom = 9

// Start runs the server on a memory store with o.Entries sample entries,
// an hour apart going back from o.Now, half of them with encrypted
// content; it stops when t ends.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Entries == 0 {
		o.Entries = 250
	}
	if o.Now.IsZero() {
		o.Now = time.Now().UTC()
	}
	ctx := context.Background()
	k, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	skey, _, err := ledger.GenerateKey("consoletest")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	// The clock of the entries and the checkpoints: the sample's times
	// while it is logged, then the real time.
	var mu sync.Mutex
	var at time.Time
	setAt := func(t time.Time) { mu.Lock(); at = t; mu.Unlock() }
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		if at.IsZero() {
			return time.Now()
		}
		return at
	}
	setAt(o.Now.Add(-time.Duration(o.Entries-1)*time.Hour - 10*time.Minute)) // the ledger opens
	lopts := comply.Options{Keyring: seal.NewKeyring(k), StoreContent: true, Now: clock}
	l, err := comply.NewWithIntegrity(ctx, memstore.New(0), &lopts,
		&comply.IntegrityOptions{Signer: signer, Now: clock, Heartbeat: 20 * time.Minute, CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	e := &Env{Logger: l, Tokens: Tokens{
		IngestSecret:  {Name: "ingester", Role: auth.Ingest},
		ReadSecret:    {Name: "reader", Role: auth.Read},
		DecryptSecret: {Name: "decrypter", Role: auth.Decrypt},
		AdminSecret:   {Name: "admin", Role: auth.Admin},
	}}
	ins := samples(o.Entries)
	if err := logSamples(ctx, l, ins, o.Now, setAt, &e.IDs); err != nil {
		t.Fatal(err)
	}
	setAt(time.Time{})
	al, err := comply.New(memstore.New(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { al.Close() })
	e.Access = accesslog.New(al)
	e.Console, err = console.New(console.Options{Auth: e.Tokens})
	if err != nil {
		t.Fatal(err)
	}
	e.Server, err = server.New(server.Options{Logger: l, Auth: e.Tokens, Access: e.Access, AccessLog: e.Access.Records,
		Verifiers: []note.Verifier{signer.Verifier()}, Sessions: e.Console, Console: e.Console, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	e.Console.SetAPI(e.Server.Handler())
	ts := httptest.NewServer(e.Server.Handler())
	t.Cleanup(ts.Close)
	e.URL = ts.URL
	return e
}

// samples returns the n sample interactions, oldest first.
func samples(n int) []comply.Interaction {
	ins := make([]comply.Interaction, 0, n)
	for i := range n {
		md, _ := json.Marshal(map[string]any{"user_id": fmt.Sprintf("user-%d", i%5), "department": []string{"support", "finance", "legal"}[i%3]})
		in := comply.Interaction{
			Input: fmt.Sprintf("question %d: what is the refund policy?", i), Output: fmt.Sprintf("answer %d: thirty days.", i),
			Provider: Providers[i%len(Providers)], Model: Models[i%len(Models)], ConversationID: Conversations[i%len(Conversations)],
			Latency: time.Duration(100+(i*37)%900) * time.Millisecond, InputTokens: comply.Tokens(10 + i%50), OutputTokens: comply.Tokens(20 + i%80),
			Metadata: json.RawMessage(md),
		}
		if i == MultilineIndex {
			in.Input = MultilineInput
		}
		switch i % 14 {
		case 3:
			in.SafetyFailed, in.DetectorsTriggered, in.BlockReason = true, []string{"pii"}, "personal data"
		case 10:
			in.SafetyFailed, in.DetectorsTriggered, in.BlockReason = true, []string{"pii", "medical"}, "medical advice"
		}
		ins = append(ins, in)
	}
	return ins
}

// logSamples logs ins with the clock set by setAt, appending their ids.
// Oldest first, an hour apart, each signed by a checkpoint, then
// heartbeats 20 and 40 minutes later (no traffic); none for the entries
// OutageFrom to OutageFrom-3 hours before the newest: the logger was
// down.
func logSamples(ctx context.Context, l *comply.Logger, ins []comply.Interaction, now time.Time, setAt func(time.Time), ids *[]string) error {
	for i := range ins {
		ts := now.Add(-time.Duration(len(ins)-1-i) * time.Hour)
		setAt(ts)
		id, err := l.Log(ctx, ins[i])
		if err != nil {
			return err
		}
		*ids = append(*ids, id)
		if back := len(ins) - 1 - i; back > OutageFrom-4 && back <= OutageFrom {
			continue
		}
		if _, err := l.Ledger().Checkpoint(ctx); err != nil {
			return err
		}
		for m := 20; m < 60 && i < len(ins)-1; m += 20 { // heartbeats, no traffic
			setAt(ts.Add(time.Duration(m) * time.Minute))
			if _, err := l.Ledger().Checkpoint(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}
