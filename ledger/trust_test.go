package ledger_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

// openWriter opens a ledger writer over the store in dir; the caller
// closes both.
func openWriter(t *testing.T, dir string, opts ledger.Options) (*filestore.Store, *ledger.Ledger, error) {
	t.Helper()
	st := openFS(t, dir, false)
	lg, err := ledger.Open(t.Context(), st, quiet(&opts))
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, lg, nil
}

func appendLine(t *testing.T, path string, line []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(append(line, '\n')); err != nil {
		t.Fatal(err)
	}
}

func recoveryError(t *testing.T, err error) *ledger.RecoveryError {
	t.Helper()
	var re *ledger.RecoveryError
	if !errors.As(err, &re) || !errors.Is(err, ledger.ErrForeign) {
		t.Fatalf("want a *RecoveryError, got %v", err)
	}
	return re
}

// TestForgedLineNeverSigned: a well-formed line appended to a day file
// of a cleanly closed signed store is never signed by the next writer
// (finding 1 of the adversarial review: it used to be adopted, and verify
// then passed).
func TestForgedLineNeverSigned(t *testing.T) {
	signer, verifier := keys(t, "prod")
	vs := []note.Verifier{verifier}
	dir := t.TempDir()
	recs := storetest.Records(day1, 10)
	write(t, dir, ledger.Options{Signer: signer}, recs)
	forged := storetest.Record("01957e3c-0000-7000-8000-0000000000f0", recs[9].Time.Add(time.Second), "gpt-forged")
	appendLine(t, filepath.Join(dir, file1), forged.Line)

	if r := verify(t, dir, vs, nil); r.OK() || !r.Has(ledger.Inserted) {
		t.Fatalf("before any writer: %s", describe(r))
	}
	_, _, err := openWriter(t, dir, ledger.Options{Signer: signer})
	re := recoveryError(t, err)
	if re.NumFor != 1 || len(re.Foreign) != 1 || re.Foreign[0].File != file1 || re.Foreign[0].ID != forged.ID {
		t.Fatalf("refusal names %+v", re)
	}
	if !strings.Contains(err.Error(), file1) || !strings.Contains(err.Error(), "1 line that the ledger did not write") {
		t.Errorf("message: %v", err)
	}
	// The refusal signed nothing.
	if r := verify(t, dir, vs, nil); r.OK() || !r.Has(ledger.Inserted) {
		t.Fatalf("after a refused writer: %s", describe(r))
	}
	// An operator's explicit seal adopts it, and verify says so.
	write(t, dir, ledger.Options{Signer: signer, AdoptAll: true, AdoptReason: "incident 42: line restored from backup"}, nil)
	r := verify(t, dir, vs, nil)
	if !r.OK() || r.Adopted != 1 || r.Valid != 10 || len(r.Logs[0].Adoptions) != 1 {
		t.Fatal(describe(r))
	}
	if a := r.Logs[0].Adoptions[0]; a.Reason != "incident 42: line restored from backup" || a.Count != 1 || !strings.HasPrefix(a.Key, "prod+") || len(a.Key) != len("prod+")+8 {
		t.Errorf("adoption report %+v", a)
	}
}

// TestForgedEarlierDayNeverSigned: a line forged into a new file for an
// earlier day lies outside any recovery; writers run and it stays
// unsigned.
func TestForgedEarlierDayNeverSigned(t *testing.T) {
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	recs := storetest.Records(day1.Add(24*time.Hour), 10)
	write(t, dir, ledger.Options{Signer: signer}, recs[:5])
	forged := storetest.Record("01957e3c-0000-7000-8000-0000000000f1", day1.Add(-48*time.Hour), "gpt-forged")
	appendLine(t, filepath.Join(dir, "audit_"+forged.Time.Format("20060102")+".jsonl"), forged.Line)
	write(t, dir, ledger.Options{Signer: signer}, recs[5:])
	if r := verify(t, dir, []note.Verifier{verifier}, nil); r.OK() || !r.Has(ledger.Inserted) || r.Valid != 10 {
		t.Fatal(describe(r))
	}
}

// TestForgedWhileRunning: a line forged while a writer runs, which then
// crashes, is not recovered after the restart: only journaled lines are.
func TestForgedWhileRunning(t *testing.T) {
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	recs := storetest.Records(time.Now().UTC().Add(-30*time.Second), 20)
	slow := ledger.Options{Signer: signer, CheckpointEvery: 1 << 30, CheckpointInterval: time.Hour}
	st, lg, err := openWriter(t, dir, slow)
	if err != nil {
		t.Fatal(err)
	}
	if err := lg.Append(t.Context(), recs[:10]...); err != nil {
		t.Fatal(err)
	}
	forged := storetest.Record("01957e3c-0000-7000-8000-0000000000f2", recs[9].Time.Add(time.Millisecond), "gpt-forged")
	appendLine(t, filepath.Join(dir, "audit_"+forged.Time.Format("20060102")+".jsonl"), forged.Line)
	if err := lg.Append(t.Context(), recs[10:]...); err != nil {
		t.Fatal(err)
	}
	lg.Abandon() // a crash
	st.Close()
	if r := verify(t, dir, []note.Verifier{verifier}, nil); r.OK() || !r.Has(ledger.Inserted) || r.Pending != 20 {
		t.Fatalf("after the crash: %s\n%v", describe(r), r.Problems)
	}
	_, _, err = openWriter(t, dir, ledger.Options{Signer: signer})
	if re := recoveryError(t, err); re.NumFor != 1 || re.Foreign[0].ID != forged.ID {
		t.Fatalf("refusal names %+v", re)
	}
}

// TestDeletedLedger: with the ledger removed and a line edited, a writer
// refuses to start, and a verifier without saved state does not pass the
// store (finding 3).
func TestDeletedLedger(t *testing.T) {
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	write(t, dir, ledger.Options{Signer: signer}, storetest.Records(day1, 10))
	if err := os.RemoveAll(filepath.Join(dir, ".comply", "blobs", "ledger")); err != nil {
		t.Fatal(err)
	}
	editFile(t, dir, file1, func(ls [][]byte) [][]byte {
		ls[3] = bytes.Replace(ls[3], []byte(`"safety_passed": true`), []byte(`"safety_passed": false`), 1)
		return ls
	})
	_, _, err := openWriter(t, dir, ledger.Options{Signer: signer})
	if re := recoveryError(t, err); !re.NoLedger || re.NumFor != 10 {
		t.Fatalf("refusal %+v", re)
	}
	if r := verify(t, dir, []note.Verifier{verifier}, nil); r.OK() || !r.Has(ledger.Unsealed) {
		t.Fatal(describe(r))
	}
}

// TestJournalForged: a journal record changed by someone without the
// signer key fails its MAC; the writer refuses.
func TestJournalForged(t *testing.T) {
	signer, _ := keys(t, "prod")
	dir := t.TempDir()
	recs := storetest.Records(time.Now().UTC().Add(-time.Minute), 10)
	st, lg, err := openWriter(t, dir, ledger.Options{Signer: signer, CheckpointEvery: 1 << 30, CheckpointInterval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := lg.Append(t.Context(), recs...); err != nil {
		t.Fatal(err)
	}
	lg.Abandon()
	st.Close()
	js, _ := filepath.Glob(filepath.Join(dir, ".comply", "blobs", "ledger", "*", "journal", "*"))
	if len(js) != 1 {
		t.Fatalf("journal files %v", js)
	}
	b, _ := os.ReadFile(js[0])
	b[30] ^= 1 // inside the first intent's leaves
	os.WriteFile(js[0], b, 0o600)
	_, _, err = openWriter(t, dir, ledger.Options{Signer: signer})
	if re := recoveryError(t, err); len(re.Journal) == 0 {
		t.Fatalf("refusal %+v", re)
	}
}

// The SIGKILL test's writer runs in a child process: the test binary again,
// with crashWriterEnv naming the store directory and the signer key file.
const crashWriterEnv = "COMPLY_LEDGER_CRASH_WRITER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(crashWriterEnv); spec != "" {
		crashWriter(spec)
		return
	}
	os.Exit(m.Run())
}

// crashWriter appends records with 16 concurrent callers through a ledger
// over a file store in the Always mode, printing each id once Append
// returned, until it is killed.
func crashWriter(spec string) {
	dir, keyFile, _ := strings.Cut(spec, "|")
	signer, err := ledger.LoadSigner(keyFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	st, err := filestore.Open(ctxBackground(), dir, &filestore.Options{Durability: filestore.Always})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	lg, err := ledger.Open(ctxBackground(), st, &ledger.Options{Signer: signer, ErrorLog: discard})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	storetest.WriteUntilKilled(16, func(w, i int) store.Record {
		return storetest.Record(fmt.Sprintf("01957e3c-%04x-7000-8000-%012x", w, i), time.Now().UTC(), "gpt-4")
	}, lg.Append)
}

// TestSIGKILL kills a writer in the Always mode mid-run, then checks that
// every acknowledged entry is recovered by the next writer and that
// editing or deleting an acknowledged entry after the kill is detected by
// verify and refused by the next writer (finding 2).
func TestSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a writer process")
	}
	skey, vkey, err := ledger.GenerateKey("prod")
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "prod.signer")
	os.WriteFile(keyFile, []byte(skey), 0o600)
	signer, _ := ledger.NewSigner(skey)
	verifier, _ := ledger.NewVerifier(vkey)
	vs := []note.Verifier{verifier}

	dir := t.TempDir()
	acked := runAndKill(t, dir, keyFile, 400)
	t.Logf("%d entries acknowledged before the kill", len(acked))

	// Untouched: verify passes (the unsigned tail is vouched for by the
	// journal's seals), and the next writer recovers every entry.
	clean := copyTree(t, dir)
	if r := verify(t, clean, vs, nil); !r.OK() {
		t.Fatalf("after the kill: %s", describe(r))
	}
	st, lg, err := openWriter(t, clean, ledger.Options{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	lg.Close()
	st.Close()
	r := verify(t, clean, vs, nil)
	if !r.OK() || r.Pending != 0 || r.Valid < int64(len(acked)) {
		t.Fatalf("after the restart: %s", describe(r))
	}
	st = openFS(t, clean, true)
	for _, id := range acked {
		if _, err := st.Get(t.Context(), id); err != nil {
			t.Fatalf("acknowledged %s: %v", id, err)
		}
	}
	st.Close()

	last := acked[len(acked)-1]
	t.Run("edit", func(t *testing.T) {
		d := copyTree(t, dir)
		editEntry(t, d, last, func(line []byte) []byte {
			return bytes.Replace(line, []byte(`"model": "gpt-4"`), []byte(`"model": "gpt-5"`), 1)
		})
		if r := verify(t, d, vs, nil); r.OK() {
			t.Fatalf("edited %s: %s", last, describe(r))
		}
		_, _, err := openWriter(t, d, ledger.Options{Signer: signer})
		recoveryError(t, err)
	})
	t.Run("delete", func(t *testing.T) {
		d := copyTree(t, dir)
		editEntry(t, d, last, func([]byte) []byte { return nil })
		if r := verify(t, d, vs, nil); r.OK() || !r.Has(ledger.Missing) {
			t.Fatalf("deleted %s: %s", last, describe(r))
		}
		_, _, err := openWriter(t, d, ledger.Options{Signer: signer})
		if re := recoveryError(t, err); re.Missing == 0 {
			t.Fatalf("refusal %+v", re)
		}
	})
}

// runAndKill runs crashWriter on dir until it acknowledged at least n
// entries (or a second passed), SIGKILLs it, and returns the ids it
// acknowledged.
func runAndKill(t *testing.T, dir, keyFile string, n int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashWriterEnv+"="+dir+"|"+keyFile)
	return storetest.KillAfter(t, cmd, n, 10*time.Second)
}

func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	copyDir(t, src, dst)
	return dst
}

// editEntry replaces the line of entry id in the store in dir by what edit
// returns (nil removes it), and drops the file's index.
func editEntry(t *testing.T, dir, id string, edit func([]byte) []byte) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "audit_*.jsonl"))
	for _, f := range files {
		ls := readLines(t, f)
		for i, l := range ls {
			if bytes.Contains(l, []byte(id)) {
				if nl := edit(bytes.TrimSuffix(l, []byte("\n"))); nl == nil {
					ls = append(ls[:i], ls[i+1:]...)
				} else {
					ls[i] = append(nl, '\n')
				}
				writeLines(t, f, ls)
				os.Remove(filepath.Join(dir, ".comply", "index", filepath.Base(f)+".idx"))
				return
			}
		}
	}
	t.Fatalf("entry %s not found", id)
}

var _ store.Store = (*filestore.Store)(nil)

func ctxBackground() context.Context { return context.Background() }

// TestResurrectedEntry: an entry deleted by policy whose line is put back
// (an old copy restored) is reported, not taken as valid.
func TestResurrectedEntry(t *testing.T) {
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	recs := storetest.Records(day1, 10)
	write(t, dir, ledger.Options{Signer: signer}, recs)
	st, lg, err := openWriter(t, dir, ledger.Options{Signer: signer})
	if err != nil {
		t.Fatal(err)
	}
	if err := lg.Delete(t.Context(), recs[4].ID); err != nil {
		t.Fatal(err)
	}
	lg.Close()
	st.Close()
	if r := verify(t, dir, []note.Verifier{verifier}, nil); !r.OK() || r.Deleted != 1 {
		t.Fatalf("after the delete: %s", describe(r))
	}
	appendLine(t, filepath.Join(dir, file1), recs[4].Line)
	os.Remove(filepath.Join(dir, ".comply", "index", file1+".idx"))
	r := verify(t, dir, []note.Verifier{verifier}, nil)
	if r.OK() || !r.Has(ledger.Inserted) || !strings.Contains(describe(r), "deleted by policy, yet its line is here again") {
		t.Fatalf("resurrected: %s", describe(r))
	}
}
