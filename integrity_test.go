package comply_test

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/memstore"
)

func integrityKeys(t testing.TB) (*ledger.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey("test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.NewVerifier(vkey)
	if err != nil {
		t.Fatal(err)
	}
	return s, v
}

func verifyDir(t *testing.T, dir string, v note.Verifier) *ledger.Report {
	t.Helper()
	st, err := filestore.Open(t.Context(), dir, &filestore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	r, err := ledger.Verify(t.Context(), st, &ledger.VerifyOptions{Verifiers: []note.Verifier{v}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// openIntegrity returns a Logger with integrity over the file store in
// dir; the caller closes it.
func openIntegrity(t *testing.T, dir string, opts *comply.Options, iopts *comply.IntegrityOptions) *comply.Logger {
	t.Helper()
	s, err := filestore.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := comply.NewWithIntegrity(t.Context(), s, opts, iopts)
	if err != nil {
		s.Close()
		t.Fatal(err)
	}
	return l
}

func reportText(r *ledger.Report) string {
	var b strings.Builder
	b.WriteString(r.Summary())
	for i := range r.Problems {
		b.WriteString("\n  " + r.Problems[i].String())
	}
	return b.String()
}

var quietLog = slog.New(slog.DiscardHandler)

// TestIntegrity logs, deletes on request and by retention through a Logger
// with integrity, and verifies: the removals are deleted by policy, and the
// same removal done by hand is missing.
func TestIntegrity(t *testing.T) {
	signer, verifier := integrityKeys(t)
	dir := t.TempDir()
	var now atomic.Int64
	old := time.Date(2025, 1, 10, 12, 0, 0, 0, time.UTC)
	now.Store(old.UnixNano())
	opts := &comply.Options{Now: func() time.Time { return time.Unix(0, now.Load()) }, ErrorLog: quietLog}
	l := openIntegrity(t, dir, opts, &comply.IntegrityOptions{Signer: signer, Origin: "comply/test"})
	if l.Ledger() == nil || l.Ledger().Origin() != "comply/test" {
		t.Fatal("no ledger")
	}
	var ids []string
	for i := range 10 {
		if i == 5 {
			now.Store(time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixNano())
		}
		now.Add(int64(time.Second))
		id, err := l.Log(t.Context(), comply.Interaction{Input: "hello", Output: "world", Model: "gpt-4"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if err := l.Delete(t.Context(), ids[7]); err != nil {
		t.Fatal(err)
	}
	var nf *comply.NotFoundError
	if err := l.Delete(t.Context(), ids[7]); !errors.As(err, &nf) {
		t.Fatalf("second Delete: %v", err)
	}
	n, err := l.CleanupBefore(t.Context(), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	if err != nil || n != 5 {
		t.Fatalf("CleanupBefore = %d, %v", n, err)
	}
	if c, _ := l.Count(t.Context()); c != 4 {
		t.Fatalf("Count = %d", c)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	r := verifyDir(t, dir, verifier)
	if !r.OK() || r.Valid != 4 || r.Deleted != 6 || r.Logs[0].Size != 10 || r.Logs[0].Deletions != 2 {
		t.Fatal(reportText(r))
	}

	// Reopen, log more, remove one line by hand: missing.
	l = openIntegrity(t, dir, opts, &comply.IntegrityOptions{Signer: signer})
	if _, err := l.Log(t.Context(), comply.Interaction{Input: "again"}); err != nil {
		t.Fatal(err)
	}
	l.Close()
	name := "audit_20261101.jsonl"
	b, _ := os.ReadFile(filepath.Join(dir, name))
	lines := strings.SplitAfter(string(b), "\n")
	os.WriteFile(filepath.Join(dir, name), []byte(lines[0]+strings.Join(lines[2:], "")), 0o600)
	os.Remove(filepath.Join(dir, ".comply", "index", name+".idx"))
	r = verifyDir(t, dir, verifier)
	if r.OK() || !r.Has(ledger.Missing) || r.Deleted != 6 {
		t.Fatal(reportText(r))
	}
}

// TestIntegrityAdoptsPython opens a directory the Python library wrote:
// its entries are adopted on first open.
func TestIntegrityAdoptsPython(t *testing.T) {
	signer, verifier := integrityKeys(t)
	dir := t.TempDir()
	src, err := os.ReadFile("testdata/seed-interop/hash_only/audit_20261125.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "audit_20261125.jsonl"), src, 0o600)
	// A writer never signs lines it did not write...
	st, err := filestore.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = comply.NewWithIntegrity(t.Context(), st, &comply.Options{ErrorLog: quietLog}, &comply.IntegrityOptions{Signer: signer})
	st.Close()
	if !errors.Is(err, ledger.ErrForeign) {
		t.Fatalf("open over the Python library's directory: %v", err)
	}
	// ... until an operator adopts them (comply seal).
	l := openIntegrity(t, dir, &comply.Options{ErrorLog: quietLog}, &comply.IntegrityOptions{Signer: signer, AdoptAll: true})
	if _, err := l.Log(t.Context(), comply.Interaction{Input: "x"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	n := int64(strings.Count(string(src), "\n"))
	if r := verifyDir(t, dir, verifier); !r.OK() || r.Adopted != n || r.Valid != 1 {
		t.Fatal(reportText(r))
	}
}

// noSidecar hides the memory store's sidecar.
type noSidecar struct{ store.Store }

func TestIntegrityNeedsSidecar(t *testing.T) {
	signer, _ := integrityKeys(t)
	_, err := comply.NewWithIntegrity(t.Context(), noSidecar{memstore.New(0)}, nil, &comply.IntegrityOptions{Signer: signer})
	if err == nil || !strings.Contains(err.Error(), "sidecar") {
		t.Fatalf("got %v", err)
	}
	if _, err := comply.NewWithIntegrity(t.Context(), memstore.New(0), nil, &comply.IntegrityOptions{}); err == nil {
		t.Fatal("no signer accepted")
	}
	l, err := comply.NewWithIntegrity(t.Context(), memstore.New(0), nil, &comply.IntegrityOptions{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if l2, _ := comply.New(memstore.New(0), nil); l2.Ledger() != nil {
		t.Fatal("a Logger without integrity has a ledger")
	}
}
