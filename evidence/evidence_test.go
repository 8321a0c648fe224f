package evidence_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/evidence"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// day1 is the time of the first fixture entry; entries are a second apart.
var day1 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// zeros is a reader of zero bytes: a fixed key, so that the golden
// manifest does not change from run to run.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// fixedKey returns a signer and its verifier generated from a fixed seed
// (name differs between keys: use a reader offset for another key).
func fixedKey(t testing.TB, name string, r io.Reader) (*ledger.Signer, note.Verifier) {
	t.Helper()
	skey, vkey, err := note.GenerateKey(r, name)
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

// fixture writes 40 entries in four writer sessions an hour apart, ten
// entries a second apart at the start of the hour and the session's
// checkpoints at half past, to a new store and returns its directory.
func fixture(t testing.TB, s *ledger.Signer) string {
	t.Helper()
	dir := t.TempDir()
	for i := range 4 {
		recs := storetest.Records(day1.Add(time.Duration(i)*time.Hour), 10)
		at := day1.Add(time.Duration(i)*time.Hour + 30*time.Minute)
		st, err := filestore.Open(t.Context(), dir, &filestore.Options{Durability: filestore.None})
		if err != nil {
			t.Fatal(err)
		}
		lg, err := ledger.Open(t.Context(), st, &ledger.Options{Signer: s, Origin: "comply/evidence-test", Now: func() time.Time { return at }})
		if err != nil {
			t.Fatal(err)
		}
		if err := lg.Append(t.Context(), recs...); err != nil {
			t.Fatal(err)
		}
		if err := lg.Close(); err != nil {
			t.Fatal(err)
		}
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func build(t testing.TB, dir string, opts evidence.Options) []byte {
	t.Helper()
	st, err := filestore.Open(t.Context(), dir, &filestore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var b bytes.Buffer
	if err := evidence.Build(t.Context(), st, &b, &opts); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func options(s *ledger.Signer) evidence.Options {
	return evidence.Options{
		Start: day1.Add(time.Hour), End: day1.Add(24 * time.Hour), Period: "2026-03-01",
		Signer: s, SampleSize: 5, SampleSeed: 42,
		ReportJSON: []byte(`{"version":1,"period":{"label":"2026-03-01"}}` + "\n"),
		ReportHTML: []byte("<!doctype html><title>report</title>\n"),
	}
}

// unzip returns the files of a pack.
func unzip(t testing.TB, pack []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(pack), int64(len(pack)))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(rc)
		rc.Close()
	}
	return files
}

// rezip writes the files as a zip (not the deterministic writer's).
func rezip(t testing.TB, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(files[n])
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// resign rewrites the manifest of files over their current contents and
// signs it with s: a pack whose writer changed it before signing.
func resign(t testing.TB, files map[string][]byte, s *ledger.Signer) {
	t.Helper()
	var m evidence.Manifest
	if err := json.Unmarshal(files[evidence.ManifestName], &m); err != nil {
		t.Fatal(err)
	}
	m.Files = nil
	for _, n := range slices.Sorted(func(yield func(string) bool) {
		for n := range files {
			if n != evidence.ManifestName && n != evidence.SignatureName && !yield(n) {
				return
			}
		}
	}) {
		sum := sha256.Sum256(files[n])
		m.Files = append(m.Files, evidence.File{Name: n, Size: len(files[n]), SHA256: hex.EncodeToString(sum[:])})
	}
	mb, _ := json.MarshalIndent(&m, "", "  ")
	mb = append(mb, '\n')
	sum := sha256.Sum256(mb)
	sig, err := note.Sign(&note.Note{Text: evidence.Format + "\nmanifest.json sha256 " + hex.EncodeToString(sum[:]) + "\n"}, s)
	if err != nil {
		t.Fatal(err)
	}
	files[evidence.ManifestName], files[evidence.SignatureName] = mb, sig
}

// first returns the first name of files with the prefix.
func first(files map[string][]byte, prefix string) string {
	var names []string
	for n := range files {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}

func TestBuildVerify(t *testing.T) {
	t.Parallel()
	s, v := fixedKey(t, "prod", zeros{})
	dir := fixture(t, s)
	pack := build(t, dir, options(s))
	res, err := evidence.Verify(pack, v)
	if err != nil {
		t.Fatal(err)
	}
	if res.Entries != 5 || res.Checkpoints < 4 || len(res.Origins) != 1 || res.Origins[0] != "comply/evidence-test" || !res.Report {
		t.Errorf("result %+v", res)
	}
	if again := build(t, dir, options(s)); !bytes.Equal(pack, again) {
		t.Error("two builds of the same store and options differ")
	}

	// The sample is the report's when it names the ids.
	files := unzip(t, pack)
	var ids []string
	for n := range files {
		if id, ok := strings.CutPrefix(n, "entries/"); ok {
			ids = append(ids, strings.TrimSuffix(id, ".json"))
		}
	}
	opts := options(s)
	opts.IDs = ids[:2]
	if res, err := evidence.Verify(build(t, dir, opts), v); err != nil || res.Entries != 2 {
		t.Errorf("a pack of the ids given: %+v %v", res, err)
	}

	// A period with no checkpoint.
	opts = options(s)
	opts.Start, opts.End = day1.AddDate(1, 0, 0), day1.AddDate(1, 0, 1)
	st, err := filestore.Open(t.Context(), dir, &filestore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := evidence.Build(t.Context(), st, io.Discard, &opts); !errors.Is(err, evidence.ErrNoCheckpoint) {
		t.Errorf("a period without checkpoints: %v", err)
	}
}

func TestGoldenManifest(t *testing.T) {
	t.Parallel()
	s, _ := fixedKey(t, "prod", zeros{})
	files := unzip(t, build(t, fixture(t, s), options(s)))
	golden := filepath.Join("testdata", "manifest.golden.json")
	if *update {
		if err := os.WriteFile(golden, files[evidence.ManifestName], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := files[evidence.ManifestName]; !bytes.Equal(got, want) {
		t.Errorf("manifest.json changed (run with -update if intended):\n%s\nwant:\n%s", got, want)
	}
}

func TestTamper(t *testing.T) {
	t.Parallel()
	s, v := fixedKey(t, "prod", zeros{})
	other, _ := fixedKey(t, "prod", strings.NewReader(strings.Repeat("x", 64)))
	pack := build(t, fixture(t, s), options(s))
	base := unzip(t, pack)
	cp, cons, entry, proof := first(base, "checkpoints/"), first(base, "consistency/"), first(base, "entries/"), first(base, "proofs/")
	flip := func(name string) func(map[string][]byte) {
		return func(f map[string][]byte) {
			b := slices.Clone(f[name])
			b[len(b)/2] ^= 1
			f[name] = b
		}
	}
	tests := []struct {
		name   string
		edit   func(map[string][]byte)
		resign bool // the writer's key signs the changed manifest
		file   string
		kind   error
	}{
		{"manifest", flip(evidence.ManifestName), false, evidence.ManifestName, evidence.ErrHash},
		{"signature", flip(evidence.SignatureName), false, evidence.SignatureName, evidence.ErrSignature},
		{"verifier key", flip(evidence.VerifierKeyName), false, evidence.VerifierKeyName, evidence.ErrHash},
		{"report json", flip(evidence.ReportJSONName), false, evidence.ReportJSONName, evidence.ErrHash},
		{"report html", flip(evidence.ReportHTMLName), false, evidence.ReportHTMLName, evidence.ErrHash},
		{"checkpoint", flip(cp), false, cp, evidence.ErrHash},
		{"consistency", flip(cons), false, cons, evidence.ErrHash},
		{"entry", flip(entry), false, entry, evidence.ErrHash},
		{"proof", flip(proof), false, proof, evidence.ErrHash},
		{"added file", func(f map[string][]byte) { f["notes.txt"] = []byte("trust me\n") }, false, "notes.txt", evidence.ErrUnlisted},
		{"removed file", func(f map[string][]byte) { delete(f, entry) }, false, entry, evidence.ErrMissing},
		{"signed by another key", func(f map[string][]byte) { resign(t, f, other) }, false, evidence.SignatureName, evidence.ErrSignature},

		// Changed before the manifest was signed: the deeper checks.
		{"entry, resigned", flip(entry), true, entry, evidence.ErrInclusion},
		{"proof hash, resigned", func(f map[string][]byte) {
			p, err := ledger.ParseProof(f[proof])
			if err != nil || len(p.Hashes) == 0 {
				t.Fatalf("proof: %v", err)
			}
			p.Hashes[0][0] ^= 1
			f[proof], _ = p.Marshal()
		}, true, proof, evidence.ErrInclusion},
		{"consistency hash, resigned", func(f map[string][]byte) {
			p, err := ledger.ParseConsistencyProof(f[cons])
			if err != nil || len(p.Hashes) == 0 {
				t.Fatalf("consistency proof: %v", err)
			}
			p.Hashes[0][0] ^= 1
			f[cons], _ = p.Marshal()
		}, true, cons, evidence.ErrConsistency},
		{"checkpoint signature, resigned", func(f map[string][]byte) {
			text, _, _ := strings.Cut(string(f[cp]), "\n\n")
			f[cp], _ = note.Sign(&note.Note{Text: text + "\n"}, other)
		}, true, cp, evidence.ErrCheckpoint},
		{"last checkpoint dropped, resigned", func(f map[string][]byte) {
			delete(f, last(f, "checkpoints/"))
		}, true, cons, evidence.ErrConsistency},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := unzip(t, pack)
			tt.edit(files)
			if tt.resign {
				resign(t, files, s)
			}
			_, err := evidence.Verify(rezip(t, files), v)
			var pe *evidence.Error
			if !errors.As(err, &pe) || pe.File != tt.file || !errors.Is(err, tt.kind) {
				t.Fatalf("got %v, want %v in %s", err, tt.kind, tt.file)
			}
		})
	}
	// The untouched files, zipped again otherwise: the contents verify,
	// the encoding does not.
	if _, err := evidence.Verify(rezip(t, unzip(t, pack)), v); !errors.Is(err, evidence.ErrEncoding) {
		t.Errorf("the same files zipped again: %v", err)
	}
	// Any byte of the zip: every fifth, and every one of the central
	// directory at the end.
	for at := range len(pack) {
		if at%5 != 0 && at < len(pack)-1500 {
			continue
		}
		bad := slices.Clone(pack)
		bad[at] ^= 0x20
		if _, err := evidence.Verify(bad, v); err == nil {
			t.Fatalf("byte %d of %d changed: the pack verifies", at, len(pack))
		}
	}
	// A wrong verifier key.
	_, stranger := fixedKey(t, "prod", strings.NewReader(strings.Repeat("y", 64)))
	if _, err := evidence.Verify(pack, stranger); !errors.Is(err, evidence.ErrSignature) {
		t.Errorf("another verifier: %v", err)
	}
	if _, err := evidence.Verify([]byte("not a zip"), v); !errors.Is(err, evidence.ErrMalformed) {
		t.Errorf("not a zip: %v", err)
	}
}

// last returns the last name of files with the prefix.
func last(files map[string][]byte, prefix string) string {
	var names []string
	for n := range files {
		if strings.HasPrefix(n, prefix) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names[len(names)-1]
}
