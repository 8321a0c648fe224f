package ledger_test

import (
	"bytes"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/memstore"
	"github.com/complyhq/comply/store/storetest"
)

// day1 is the first day of the test entries; records are a second apart.
var day1 = time.Date(2026, 3, 1, 23, 59, 50, 0, time.UTC)

func keys(t testing.TB, name string) (*ledger.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := ledger.GenerateKey(name)
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

func openFS(t testing.TB, dir string, readOnly bool) *filestore.Store {
	t.Helper()
	s, err := filestore.Open(t.Context(), dir, &filestore.Options{Durability: filestore.None, ReadOnly: readOnly})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func quiet(o *ledger.Options) *ledger.Options {
	o.ErrorLog = discard
	return o
}

// write appends recs to the store in dir through a ledger signed by s,
// in batches of batch records, and closes both.
func write(t testing.TB, dir string, opts ledger.Options, recs []store.Record) {
	t.Helper()
	st := openFS(t, dir, false)
	lg, err := ledger.Open(t.Context(), st, quiet(&opts))
	if err != nil {
		st.Close()
		t.Fatal(err)
	}
	for i := 0; i < len(recs); i += 7 {
		if err := lg.Append(t.Context(), recs[i:min(i+7, len(recs))]...); err != nil {
			t.Fatal(err)
		}
	}
	if err := lg.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
}

func verify(t testing.TB, dir string, vs []note.Verifier, trusted map[string][]byte) *ledger.Report {
	t.Helper()
	st := openFS(t, dir, true)
	defer st.Close()
	r, err := ledger.Verify(t.Context(), st, &ledger.VerifyOptions{
		Verifiers: vs, Trusted: trusted,
		FileName: func(d time.Time) string { return "audit_" + d.Format("20060102") + ".jsonl" },
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func describe(r *ledger.Report) string {
	var b strings.Builder
	b.WriteString(r.Summary())
	for i := range r.Problems {
		b.WriteString("\n  ")
		b.WriteString(r.Problems[i].String())
	}
	for i := range r.Gaps {
		b.WriteString("\n  gap: ")
		b.WriteString(r.Gaps[i].String())
	}
	return b.String()
}

// Files of the two test days.
const (
	file1 = "audit_20260301.jsonl"
	file2 = "audit_20260302.jsonl"
)

func readLines(t *testing.T, path string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.SplitAfter(b, []byte("\n"))[:bytes.Count(b, []byte("\n"))]
}

func writeLines(t *testing.T, path string, lines [][]byte) {
	t.Helper()
	if err := os.WriteFile(path, bytes.Join(lines, nil), 0o600); err != nil {
		t.Fatal(err)
	}
	// The file store's index is keyed to the file: drop it, as an attacker
	// who edits a file would not care to keep it consistent.
	os.Remove(filepath.Join(filepath.Dir(path), ".comply", "index", filepath.Base(path)+".idx"))
}

func editFile(t *testing.T, dir, name string, edit func([][]byte) [][]byte) {
	t.Helper()
	p := filepath.Join(dir, name)
	writeLines(t, p, edit(readLines(t, p)))
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == filepath.Join(".comply", "LOCK") {
			return nil
		}
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(out, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTamper is the tamper table: each change is detected, with
// the right word, and the report fails (exit status 3 in the CLI).
func TestTamper(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	other, _ := keys(t, "attacker")
	recs := storetest.Records(day1, 20) // 10 on day 1, 10 on day 2
	vs := []note.Verifier{verifier}

	cases := []struct {
		name   string
		tamper func(t *testing.T, dir string, trusted map[string][]byte)
		want   ledger.Kind
		file   string // the file the problem names, if any
	}{
		{"flip one byte of a line", func(t *testing.T, dir string, _ map[string][]byte) {
			editFile(t, dir, file1, func(ls [][]byte) [][]byte {
				i := bytes.Index(ls[4], []byte(`"model-`))
				ls[4][i+len(`"model-`)] ^= 1 // model-1 becomes model-0
				return ls
			})
		}, ledger.Modified, file1},
		{"flip a byte that breaks the line", func(t *testing.T, dir string, _ map[string][]byte) {
			editFile(t, dir, file1, func(ls [][]byte) [][]byte { ls[3][0] = 'X'; return ls })
		}, ledger.Modified, file1},
		{"delete a line", func(t *testing.T, dir string, _ map[string][]byte) {
			editFile(t, dir, file1, func(ls [][]byte) [][]byte { return slices.Delete(ls, 5, 6) })
		}, ledger.Missing, file1},
		{"insert a forged line", func(t *testing.T, dir string, _ map[string][]byte) {
			forged := storetest.Record("01957e3c-0000-7000-8000-000000000099", day1.Add(4500*time.Millisecond), "gpt-forged")
			editFile(t, dir, file1, func(ls [][]byte) [][]byte { return slices.Insert(ls, 5, append(forged.Line, '\n')) })
		}, ledger.Inserted, file1},
		{"swap two lines", func(t *testing.T, dir string, _ map[string][]byte) {
			editFile(t, dir, file2, func(ls [][]byte) [][]byte { ls[2], ls[3] = ls[3], ls[2]; return ls })
		}, ledger.Reordered, file2},
		{"truncate a file", func(t *testing.T, dir string, _ map[string][]byte) {
			editFile(t, dir, file1, func(ls [][]byte) [][]byte { return ls[:7] })
		}, ledger.Truncated, file1},
		{"truncate the newest file", func(t *testing.T, dir string, _ map[string][]byte) {
			editFile(t, dir, file2, func(ls [][]byte) [][]byte { return ls[:8] })
		}, ledger.Truncated, file2},
		{"delete a whole file", func(t *testing.T, dir string, _ map[string][]byte) {
			os.Remove(filepath.Join(dir, file1))
			os.Remove(filepath.Join(dir, ".comply", "index", file1+".idx"))
		}, ledger.FileDeleted, file1},
		{"delete the newest entries and re-sign with a different key", func(t *testing.T, dir string, _ map[string][]byte) {
			editFile(t, dir, file2, func(ls [][]byte) [][]byte { return ls[:6] })
			os.RemoveAll(filepath.Join(dir, ".comply", "blobs", "ledger"))
			write(t, dir, ledger.Options{Signer: other, Origin: "comply/test", AdoptAll: true}, nil)
		}, ledger.UnknownKey, ""},
		{"replace the directory with a consistent forgery signed by another key", func(t *testing.T, dir string, _ map[string][]byte) {
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				os.RemoveAll(filepath.Join(dir, e.Name()))
			}
			forged := storetest.Records(day1.Add(time.Hour), 15)
			write(t, dir, ledger.Options{Signer: other, Origin: "comply/test"}, forged)
		}, ledger.UnknownKey, ""},
		{"re-sign a modified history with the real key", func(t *testing.T, dir string, _ map[string][]byte) {
			editFile(t, dir, file1, func(ls [][]byte) [][]byte { return slices.Delete(ls, 2, 3) })
			os.RemoveAll(filepath.Join(dir, ".comply", "blobs", "ledger"))
			write(t, dir, ledger.Options{Signer: signer, Origin: "comply/test", AdoptAll: true}, storetest.Records(day1.Add(30*time.Second), 1))
		}, ledger.Inconsistent, ""},
		{"forge a leaf", func(t *testing.T, dir string, _ map[string][]byte) {
			p := filepath.Join(dir, ".comply", "blobs", "ledger", "comply-test", "leaves", "00000000")
			b, _ := os.ReadFile(p)
			b[len("comply-leaves/v1\n")+3] ^= 0xff
			os.WriteFile(p, b, 0o600)
		}, ledger.Forged, ""},
		{"break the checkpoint's signature", func(t *testing.T, dir string, _ map[string][]byte) {
			p := filepath.Join(dir, ".comply", "blobs", "ledger", "comply-test", "checkpoint")
			b, _ := os.ReadFile(p)
			i := bytes.LastIndex(b, []byte(" ")) + 10
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			os.WriteFile(p, b, 0o600)
		}, ledger.BadSignature, ""},
		{"delete the ledger", func(t *testing.T, dir string, _ map[string][]byte) {
			os.RemoveAll(filepath.Join(dir, ".comply", "blobs", "ledger"))
		}, ledger.LedgerDeleted, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, ledger.Options{Signer: signer, Origin: "comply/test"}, recs)
			before := verify(t, dir, vs, nil)
			if !before.OK() || before.Entries != 20 || before.Valid != 20 {
				t.Fatalf("before tampering: %s", describe(before))
			}
			if got := before.Summary(); got != "2/2 files valid, 20 entries" {
				t.Errorf("summary = %q", got)
			}
			c.tamper(t, dir, before.Trusted)
			r := verify(t, dir, vs, before.Trusted)
			if r.OK() {
				t.Fatalf("tampering not detected: %s", describe(r))
			}
			var found *ledger.Problem
			for i := range r.Problems {
				if r.Problems[i].Kind == c.want && (c.file == "" || r.Problems[i].File == c.file) {
					found = &r.Problems[i]
					break
				}
			}
			if found == nil {
				t.Fatalf("no %q problem (in %q):\n%s", c.want, c.file, describe(r))
			}
			t.Logf("%s", describe(r))
		})
	}
}

// TestTamperExact checks the report of the simplest cases in full: one
// problem, on the right line, and nothing else.
func TestTamperExact(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	recs := storetest.Records(day1, 20)
	vs := []note.Verifier{verifier}
	cases := []struct {
		name   string
		edit   func([][]byte) [][]byte
		kind   ledger.Kind
		line   int64
		count  int64
		valid  int64
		detail string
	}{
		{"modified", func(ls [][]byte) [][]byte {
			ls[4] = bytes.Replace(ls[4], []byte("openai"), []byte("OPENAI"), 1)
			return ls
		},
			ledger.Modified, 5, 1, 19, "differs from the entry signed as leaf 4"},
		{"missing", func(ls [][]byte) [][]byte { return slices.Delete(ls, 5, 7) },
			ledger.Missing, 0, 2, 18, "2 entries signed as leaves 5-6"},
		{"reordered", func(ls [][]byte) [][]byte { ls[2], ls[3] = ls[3], ls[2]; return ls },
			ledger.Reordered, 3, 1, 19, "leaf 3, out of its write order"},
		{"moved to the front", func(ls [][]byte) [][]byte {
			l := ls[8]
			return slices.Insert(slices.Delete(ls, 8, 9), 0, l)
		}, ledger.Reordered, 1, 1, 19, "leaf 8"},
		{"truncated", func(ls [][]byte) [][]byte { return ls[:7] },
			ledger.Truncated, 0, 3, 17, "3 entries signed as leaves 7-9"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, dir, ledger.Options{Signer: signer, Origin: "comply/test"}, recs)
			editFile(t, dir, file1, c.edit)
			r := verify(t, dir, vs, nil)
			if len(r.Problems) != 1 {
				t.Fatalf("want one problem:\n%s", describe(r))
			}
			p := r.Problems[0]
			if p.Kind != c.kind || p.File != file1 || p.Line != c.line || p.Count != c.count || !strings.Contains(p.Detail, c.detail) {
				t.Errorf("got %+v", p)
			}
			if r.Valid != c.valid {
				t.Errorf("valid = %d, want %d", r.Valid, c.valid)
			}
			if got, want := r.Summary(), "1/2 files valid"; !strings.HasPrefix(got, want) {
				t.Errorf("summary %q, want prefix %q", got, want)
			}
		})
	}
}

func TestRollback(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	vs := []note.Verifier{verifier}
	dir, snap := t.TempDir(), t.TempDir()
	write(t, dir, ledger.Options{Signer: signer}, storetest.Records(day1, 10))
	copyDir(t, dir, snap)
	write(t, dir, ledger.Options{Signer: signer}, storetest.Records(day1.Add(time.Hour), 10))
	r := verify(t, dir, vs, nil)
	if !r.OK() || r.Entries != 20 {
		t.Fatal(describe(r))
	}
	// Roll the whole directory back to the snapshot: consistent, and signed
	// with the right key, but older than what the verifier trusted.
	if got := verify(t, snap, vs, nil); !got.OK() {
		t.Fatalf("the snapshot alone verifies: %s", describe(got))
	}
	got := verify(t, snap, vs, r.Trusted)
	if got.OK() || !got.Has(ledger.RolledBack) {
		t.Fatalf("rollback not detected: %s", describe(got))
	}
	// The trusted checkpoint of the snapshot is fine for the newer log.
	if got := verify(t, dir, vs, verify(t, snap, vs, nil).Trusted); !got.OK() {
		t.Fatal(describe(got))
	}
}

func TestCleanAndSummary(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	write(t, dir, ledger.Options{Signer: signer, CheckpointEvery: 3}, storetest.Records(day1, 9000))
	r := verify(t, dir, []note.Verifier{verifier}, nil)
	if !r.OK() || r.Entries != 9000 || r.Valid != 9000 || len(r.Logs) != 1 || r.Logs[0].Size != 9000 || !r.Logs[0].Closed {
		t.Fatalf("%s\n%+v", describe(r), r.Logs)
	}
	if len(r.Gaps) != 0 {
		t.Errorf("gaps: %v", r.Gaps)
	}
	// Without the key, nothing is trusted.
	_, stranger := keys(t, "stranger")
	r = verify(t, dir, []note.Verifier{stranger}, nil)
	if r.OK() || !r.Has(ledger.UnknownKey) {
		t.Fatal(describe(r))
	}
}

func TestAdoptPython(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	src, err := os.ReadFile("../testdata/seed-interop/hash_only/audit_20261125.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	name := "audit_20261125.jsonl"
	if err := os.WriteFile(filepath.Join(dir, name), src, 0o600); err != nil {
		t.Fatal(err)
	}
	n := int64(bytes.Count(src, []byte("\n")))
	// Before sealing, nothing signs the entries.
	if r := verify(t, dir, []note.Verifier{verifier}, nil); r.OK() || !r.Has(ledger.Unsealed) {
		t.Fatalf("unsealed directory: %s", describe(r))
	}
	// A writer refuses to sign what it did not write...
	st := openFS(t, dir, false)
	_, err = ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
	st.Close()
	var re *ledger.RecoveryError
	if !errors.As(err, &re) || !re.NoLedger || re.NumFor != int(n) {
		t.Fatalf("open without a seal: %v", err)
	}
	// ... until an operator seals it, explicitly.
	write(t, dir, ledger.Options{Signer: signer, AdoptAll: true, AdoptReason: "imported from the Python service"}, nil)
	r := verify(t, dir, []note.Verifier{verifier}, nil)
	if !r.OK() || r.Entries != n || r.Adopted != n || r.Valid != 0 {
		t.Fatal(describe(r))
	}
	// The Python library writes more while the ledger is closed: inserted,
	// until a seal adopts them.
	f, _ := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
	extra := bytes.Replace(src[:bytes.IndexByte(src, '\n')+1], []byte("0099c6f8"), []byte("1199c6f8"), 1)
	f.Write(extra)
	f.Close()
	os.Remove(filepath.Join(dir, ".comply", "index", name+".idx"))
	if r := verify(t, dir, []note.Verifier{verifier}, nil); r.OK() || !r.Has(ledger.Inserted) {
		t.Fatal(describe(r))
	}
	write(t, dir, ledger.Options{Signer: signer, AdoptAll: true}, nil)
	if r := verify(t, dir, []note.Verifier{verifier}, nil); !r.OK() || r.Adopted != n+1 {
		t.Fatal(describe(r))
	}
}

func TestCrashRecovery(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	vs := []note.Verifier{verifier}
	dir := t.TempDir()
	// Stamped now: the entries after a running writer's last checkpoint
	// count as not yet checkpointed.
	recs := storetest.Records(time.Now().UTC().Truncate(time.Second).Add(-time.Minute), 50)
	write(t, dir, ledger.Options{Signer: signer}, recs[:10])

	// A writer that never gets to checkpoint what it appends, then dies.
	st := openFS(t, dir, false)
	lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer, CheckpointEvery: 1 << 30, CheckpointInterval: time.Hour, Heartbeat: time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	if err := lg.Append(t.Context(), recs[10:40]...); err != nil {
		t.Fatal(err)
	}
	// Meanwhile a reader sees the unsigned entries as not yet checkpointed,
	// not as inserted.
	r := verify(t, dir, vs, nil)
	if !r.OK() || r.Pending != 30 || r.Valid != 10 {
		t.Fatalf("running writer: %s", describe(r))
	}
	lg.Abandon()
	st.Close()

	// The next writer recovers them from its journal, in order, then goes on.
	write(t, dir, ledger.Options{Signer: signer}, recs[40:])
	r = verify(t, dir, vs, nil)
	if !r.OK() || r.Valid != 50 || r.Pending != 0 || r.Logs[0].Size != 50 {
		t.Fatal(describe(r))
	}
	if len(r.Gaps) != 0 {
		t.Errorf("unexpected gaps: %s", describe(r))
	}
}

// TestRecoveryWindow: after a crash, lines stamped a little before the
// last signed leaf but written after it are adopted too.
func TestRecoveryWindow(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	// Entries stamped slightly out of order around the last signed one
	// (concurrent writers stamp before they write).
	recs := storetest.Records(day1, 30)
	write(t, dir, ledger.Options{Signer: signer}, recs[:20])
	late := storetest.Record("01957e3c-0000-7000-8000-0000000000aa", recs[19].Time.Add(-30*time.Second), "late")
	st := openFS(t, dir, false)
	lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer, CheckpointInterval: time.Hour, CheckpointEvery: 1 << 30}))
	if err != nil {
		t.Fatal(err)
	}
	lg.Append(t.Context(), late)
	lg.Append(t.Context(), recs[20:]...)
	lg.Abandon()
	st.Close()
	write(t, dir, ledger.Options{Signer: signer}, nil)
	r := verify(t, dir, []note.Verifier{verifier}, nil)
	if !r.OK() || r.Valid != 31 {
		t.Fatal(describe(r))
	}
}

func TestDeletionByPolicy(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	vs := []note.Verifier{verifier}
	recs := storetest.Records(day1, 20)

	t.Run("retention", func(t *testing.T) {
		dir := t.TempDir()
		st := openFS(t, dir, false)
		lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
		if err != nil {
			t.Fatal(err)
		}
		st.Append(t.Context(), recs...)
		// Day 1 entirely, and 3 entries of day 2 (a rewrite of its file).
		n, err := lg.Expire(t.Context(), recs[13].Time)
		if err != nil || n != 13 {
			t.Fatalf("Expire = %d, %v", n, err)
		}
		lg.Close()
		st.Close()
		r := verify(t, dir, vs, nil)
		if !r.OK() || r.Deleted != 13 || r.Valid != 7 || r.Logs[0].Deletions != 1 {
			t.Fatal(describe(r))
		}
		if got := r.Summary(); got != "1/1 files valid, 7 entries, 13 deleted by policy" {
			t.Errorf("summary %q", got)
		}
	})
	t.Run("request", func(t *testing.T) {
		dir := t.TempDir()
		st := openFS(t, dir, false)
		lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
		if err != nil {
			t.Fatal(err)
		}
		st.Append(t.Context(), recs...)
		if err := lg.Delete(t.Context(), recs[4].ID); err != nil {
			t.Fatal(err)
		}
		if err := lg.Delete(t.Context(), "01957e3c-0000-7000-8000-00000000ffff"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("Delete of an unknown id: %v", err)
		}
		lg.Close()
		st.Close()
		r := verify(t, dir, vs, nil)
		if !r.OK() || r.Deleted != 1 || r.Valid != 19 {
			t.Fatal(describe(r))
		}
	})
	t.Run("by hand", func(t *testing.T) {
		dir := t.TempDir()
		write(t, dir, ledger.Options{Signer: signer}, recs)
		os.Remove(filepath.Join(dir, file1))
		editFile(t, dir, file2, func(ls [][]byte) [][]byte { return slices.Delete(ls, 4, 5) })
		r := verify(t, dir, vs, nil)
		if r.OK() || !r.Has(ledger.FileDeleted) || !r.Has(ledger.Missing) || r.Deleted != 0 {
			t.Fatal(describe(r))
		}
	})
	t.Run("deletion record signed by another key", func(t *testing.T) {
		dir := t.TempDir()
		other, _ := keys(t, "other")
		write(t, dir, ledger.Options{Signer: signer, Origin: "comply/x"}, recs)
		st := openFS(t, dir, false)
		// An attacker with another key expires day 1 "by policy".
		lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: other}))
		if err != nil {
			t.Fatal(err)
		}
		lg.Expire(t.Context(), recs[10].Time)
		lg.Close()
		st.Close()
		r := verify(t, dir, vs, nil)
		if r.OK() || !r.Has(ledger.UnknownKey) {
			t.Fatal(describe(r))
		}
	})
}

// stepClock is a clock that moves a step each time it is read, so that
// heartbeats come at the same clock times however busy the machine is.
type stepClock struct {
	mu   sync.Mutex
	t    time.Time
	step time.Duration
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(c.step)
	return c.t
}

func (c *stepClock) Jump(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestHeartbeatGaps(t *testing.T) {
	// Not parallel: it sleeps in real time and counts heartbeats.
	signer, verifier := keys(t, "prod")
	vs := []note.Verifier{verifier}
	dir := t.TempDir()
	clock := &stepClock{t: time.Now(), step: 10 * time.Millisecond}
	opts := ledger.Options{Signer: signer, CheckpointInterval: 5 * time.Millisecond, Heartbeat: 100 * time.Millisecond, Now: clock.Now}
	recs := storetest.Records(day1, 10)

	// Idle but running: heartbeats fill the history, no gap.
	st := openFS(t, dir, false)
	lg, err := ledger.Open(t.Context(), st, quiet(&opts))
	if err != nil {
		t.Fatal(err)
	}
	lg.Append(t.Context(), recs[:5]...)
	// At least two heartbeats into the history (open, heartbeats, close):
	// wait for them rather than for a fixed time, which a loaded machine
	// may not honour.
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		ro := openFS(t, dir, true)
		r, err := ledger.Verify(t.Context(), ro, &ledger.VerifyOptions{Verifiers: vs})
		ro.Close()
		if err == nil && len(r.Logs) == 1 && r.Logs[0].Checkpoints >= 3 {
			break
		}
	}
	lg.Close()
	st.Close()
	r := verify(t, dir, vs, nil)
	if !r.OK() || len(r.Gaps) != 0 || r.Logs[0].Checkpoints < 4 {
		t.Fatalf("idle writer: %s (%d checkpoints)", describe(r), r.Logs[0].Checkpoints)
	}

	// Stopped, then started again: a clean gap.
	clock.Jump(time.Hour)
	st = openFS(t, dir, false)
	lg, err = ledger.Open(t.Context(), st, quiet(&opts))
	if err != nil {
		t.Fatal(err)
	}
	lg.Append(t.Context(), recs[5:8]...)
	time.Sleep(20 * time.Millisecond)
	lg.Abandon() // then a crash
	st.Close()
	clock.Jump(2 * time.Hour)
	write(t, dir, opts, recs[8:])

	r = verify(t, dir, vs, nil)
	if !r.OK() || len(r.Gaps) != 2 {
		t.Fatalf("want two gaps: %s", describe(r))
	}
	if g := r.Gaps[0]; !g.Clean || g.Length < time.Hour || g.Length > time.Hour+time.Minute {
		t.Errorf("first gap %+v, want a clean stop of an hour", g)
	}
	if g := r.Gaps[1]; g.Clean || g.Length < 2*time.Hour || g.Length > 2*time.Hour+time.Minute {
		t.Errorf("second gap %+v, want a crash of two hours", g)
	}
	if r.Valid != 10 {
		t.Error(describe(r))
	}
}

func TestProof(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	_, stranger := keys(t, "stranger")
	dir := t.TempDir()
	recs := storetest.Records(day1, 4500) // more than a tile
	write(t, dir, ledger.Options{Signer: signer, CheckpointEvery: 100}, recs)
	st := openFS(t, dir, true)
	defer st.Close()
	for _, i := range []int{0, 1, 2, 1000, 4095, 4096, 4499} {
		p, err := ledger.Prove(t.Context(), st, recs[i].ID)
		if err != nil {
			t.Fatal(err)
		}
		if p.LeafIndex != uint64(i) || p.TreeSize != 4500 || p.Line != string(recs[i].Line) {
			t.Fatalf("proof of %d: leaf %d of %d", i, p.LeafIndex, p.TreeSize)
		}
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		q, err := ledger.ParseProof(b)
		if err != nil {
			t.Fatal(err)
		}
		c, err := ledger.VerifyProof(q, verifier)
		if err != nil || c.Size != 4500 {
			t.Fatalf("VerifyProof: %v", err)
		}
		// Tampered: the line, a hash, the index, the checkpoint's key.
		bad := *q
		bad.Line = strings.Replace(bad.Line, "openai", "OpenAI", 1)
		if _, err := ledger.VerifyProof(&bad, verifier); !errors.Is(err, ledger.ErrProof) {
			t.Errorf("tampered line: %v", err)
		}
		bad = *q
		bad.Hashes = slices.Clone(q.Hashes)
		bad.Hashes[0] = bytes.Repeat([]byte{1}, 32)
		if _, err := ledger.VerifyProof(&bad, verifier); !errors.Is(err, ledger.ErrProof) {
			t.Errorf("tampered hash: %v", err)
		}
		bad = *q
		bad.LeafIndex ^= 1
		if _, err := ledger.VerifyProof(&bad, verifier); !errors.Is(err, ledger.ErrProof) {
			t.Errorf("tampered index: %v", err)
		}
		var se *ledger.SignatureError
		if _, err := ledger.VerifyProof(q, stranger); !errors.As(err, &se) || se.Kind != ledger.UnknownKey {
			t.Errorf("unknown key: %v", err)
		}
	}
	if _, err := ledger.Prove(t.Context(), st, "01957e3c-0000-7000-8000-00000000ffff"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Prove of an unknown id: %v", err)
	}
}

func TestMemStore(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	st := memstore.New(0)
	lg, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
	if err != nil {
		t.Fatal(err)
	}
	recs := storetest.Records(day1, 100)
	st.Append(t.Context(), recs...)
	if err := lg.Delete(t.Context(), recs[50].ID); err != nil {
		t.Fatal(err)
	}
	lg.Close()
	r, err := ledger.Verify(t.Context(), st, &ledger.VerifyOptions{Verifiers: []note.Verifier{verifier}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() || r.Valid != 99 || r.Deleted != 1 || r.Summary() != "1/1 files valid, 99 entries, 1 deleted by policy" {
		t.Fatal(describe(r))
	}
	// Reopening over the same store carries on the same log.
	lg, err = ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
	if err != nil {
		t.Fatal(err)
	}
	st.Append(t.Context(), storetest.Records(day1.Add(time.Hour), 5)...)
	if err := lg.Delete(t.Context(), recs[60].ID); err != nil {
		t.Fatal(err)
	}
	lg.Close()
	r, _ = ledger.Verify(t.Context(), st, &ledger.VerifyOptions{Verifiers: []note.Verifier{verifier}})
	if !r.OK() || r.Valid != 103 || r.Deleted != 2 || r.Logs[0].Size != 105 || r.Logs[0].Deletions != 2 {
		t.Fatal(describe(r))
	}
	if names, _ := st.ListBlobs(t.Context(), "ledger/"); !slices.ContainsFunc(names, func(n string) bool { return strings.HasSuffix(n, "/deletions/000000000001") }) {
		t.Fatalf("blobs: %v", names)
	}
}

func TestOpenRefusesTamperedLedger(t *testing.T) {
	t.Parallel()
	signer, _ := keys(t, "prod")
	dir := t.TempDir()
	write(t, dir, ledger.Options{Signer: signer, Origin: "comply/test"}, storetest.Records(day1, 10))
	p := filepath.Join(dir, ".comply", "blobs", "ledger", "comply-test", "leaves", "00000000")
	b, _ := os.ReadFile(p)
	b[len(b)-20] ^= 1
	os.WriteFile(p, b, 0o600)
	st := openFS(t, dir, false)
	defer st.Close()
	_, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer}))
	if !errors.Is(err, ledger.ErrTampered) {
		t.Fatalf("Open of a tampered ledger: %v", err)
	}
}

func TestKeys(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sp, vp, err := ledger.WriteKeyFiles(filepath.Join(dir, "prod"), "prod")
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(sp); fi.Mode().Perm() != 0o600 {
		t.Errorf("signer mode %v", fi.Mode())
	}
	if fi, _ := os.Stat(vp); fi.Mode().Perm() != 0o644 {
		t.Errorf("verifier mode %v", fi.Mode())
	}
	if _, _, err := ledger.WriteKeyFiles(filepath.Join(dir, "prod"), "prod"); !errors.Is(err, ledger.ErrKeyExists) || !strings.Contains(err.Error(), sp) {
		t.Errorf("WriteKeyFiles over a key: %v, want ErrKeyExists naming %s", err, sp)
	}
	s, err := ledger.LoadSigner(sp)
	if err != nil {
		t.Fatal(err)
	}
	v, err := ledger.LoadVerifier(vp)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := note.Sign(&note.Note{Text: "hello\n"}, s)
	if _, err := note.Open(msg, note.VerifierList(v)); err != nil {
		t.Fatal(err)
	}
	if s.Verifier().KeyHash() != v.KeyHash() || s.VerifierKey()+"\n" != string(must(os.ReadFile(vp))) {
		t.Error("derived verifier differs")
	}
	os.Chmod(sp, 0o644)
	var me *ledger.KeyFileModeError
	if _, err := ledger.LoadSigner(sp); !errors.As(err, &me) || me.Path != sp || me.Mode != 0o644 {
		t.Errorf("group-readable signer key: %v, want a KeyFileModeError with its path and mode 0644", err)
	}
	if _, err := ledger.NewSigner("PRIVATE+KEY+x+00000000+AAAA"); !errors.Is(err, ledger.ErrInvalidKey) || strings.Contains(err.Error(), "AAAA") {
		t.Errorf("bad signer key: %v", err)
	}
	if _, err := ledger.NewVerifier("x+00000000+AAAA"); !errors.Is(err, ledger.ErrInvalidKey) {
		t.Errorf("bad verifier key: %v", err)
	}
	if _, err := ledger.Open(t.Context(), memstore.New(0), &ledger.Options{}); !errors.Is(err, ledger.ErrNoSigner) {
		t.Errorf("Open without a signer: %v, want ErrNoSigner", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestCheckpointFormat(t *testing.T) {
	t.Parallel()
	c := &ledger.Checkpoint{Origin: "comply/host/1", Size: 42, Root: bytes.Repeat([]byte{7}, 32),
		Time: time.Date(2026, 3, 1, 2, 3, 4, 5, time.UTC), Heartbeat: time.Minute, Closed: true}
	want := "comply/host/1\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\ntime 2026-03-01T02:03:04.000000005Z\nheartbeat 1m0s\nclosed\n"
	if got := c.Text(); got != want {
		t.Fatalf("Text() =\n%s\nwant\n%s", got, want)
	}
	d, err := ledger.ParseCheckpoint(want)
	if err != nil {
		t.Fatal(err)
	}
	if d.Text() != want {
		t.Fatalf("round trip: %q", d.Text())
	}
	for _, bad := range []string{"", "o\n1\n", "o\n01\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n", "o\n1\nAAAA\n", "o\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n\n", "\n1\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\n"} {
		if _, err := ledger.ParseCheckpoint(bad); err == nil {
			t.Errorf("ParseCheckpoint(%q) accepted", bad)
		}
	}
}

var discard = slog.New(slog.DiscardHandler)

func TestHashChildren(t *testing.T) {
	t.Parallel()
	// The writer's and Verify's tree hashing agree with the library's RFC
	// 6962 hasher (and Prove's proofs pass its VerifyInclusion).
	l, r := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	if got, want := ledger.HashChildrenForTest(l, r), rfc6962.DefaultHasher.HashChildren(l, r); !bytes.Equal(got, want) {
		t.Fatalf("%x != %x", got, want)
	}
	line := []byte(`{"id": "x"}`)
	if got := ledger.HashLine(line); !bytes.Equal(got[:], rfc6962.DefaultHasher.HashLeaf(line)) {
		t.Fatal("HashLine differs from HashLeaf")
	}
}

func TestMaxProblems(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	write(t, dir, ledger.Options{Signer: signer}, storetest.Records(day1, 20))
	// Every line of day 2 replaced by forged ones.
	editFile(t, dir, file2, func(ls [][]byte) [][]byte {
		for i := range ls {
			ls[i] = bytes.Replace(ls[i], []byte("openai"), []byte("forged"), 1)
		}
		return ls
	})
	st := openFS(t, dir, true)
	defer st.Close()
	r, err := ledger.Verify(t.Context(), st, &ledger.VerifyOptions{Verifiers: []note.Verifier{verifier}, MaxProblems: 3})
	if err != nil {
		t.Fatal(err)
	}
	if r.OK() || len(r.Problems) != 3 || r.Omitted != 7 || r.Summary() != "1/2 files valid, 20 entries, 10 problems" {
		t.Fatalf("%s (omitted %d)", describe(r), r.Omitted)
	}
	if r.Files[1].Problems != 10 || r.Files[0].Problems != 0 {
		t.Fatalf("files: %+v", r.Files)
	}
}

// TestTwoLedgers: a store written by two writers in turn, each with its
// own origin (as several writers of a shared store are): each ledger signs
// its own writes, and Verify checks both.
func TestTwoLedgers(t *testing.T) {
	t.Parallel()
	signer, verifier := keys(t, "prod")
	dir := t.TempDir()
	recs := storetest.Records(day1, 30)
	write(t, dir, ledger.Options{Signer: signer, Origin: "comply/a"}, recs[:10])
	write(t, dir, ledger.Options{Signer: signer, Origin: "comply/b"}, recs[10:20])
	write(t, dir, ledger.Options{Signer: signer, Origin: "comply/a"}, recs[20:])
	r := verify(t, dir, []note.Verifier{verifier}, nil)
	if !r.OK() || r.Valid != 30 || len(r.Logs) != 2 || r.Logs[0].Size != 20 || r.Logs[1].Size != 10 {
		t.Fatalf("%s %+v", describe(r), r.Logs)
	}
	// A writer without an origin cannot tell which ledger is its own.
	st := openFS(t, dir, false)
	defer st.Close()
	if _, err := ledger.Open(t.Context(), st, quiet(&ledger.Options{Signer: signer})); err == nil || !strings.Contains(err.Error(), "several ledgers") {
		t.Fatalf("Open without an origin: %v", err)
	}
	// Tampering with a line of b is found in b's leaves.
	st.Close()
	editFile(t, dir, file2, func(ls [][]byte) [][]byte { return slices.Delete(ls, 2, 3) })
	r = verify(t, dir, []note.Verifier{verifier}, nil)
	if r.OK() || !r.Has(ledger.Missing) || r.Problems[0].Origin != "comply/b" {
		t.Fatal(describe(r))
	}
}
