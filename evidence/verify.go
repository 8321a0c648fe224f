package evidence

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
)

// The kinds of a pack's problems. A *Error wraps one; test with errors.Is.
var (
	ErrMalformed   = errors.New("not a readable evidence pack")
	ErrSignature   = errors.New("manifest signature does not verify")
	ErrHash        = errors.New("file does not match its SHA-256 in the manifest")
	ErrMissing     = errors.New("file listed in the manifest is missing")
	ErrUnlisted    = errors.New("file is not in the manifest")
	ErrKey         = errors.New("verifier key of the pack is not the one given")
	ErrCheckpoint  = errors.New("checkpoint does not verify")
	ErrInclusion   = errors.New("inclusion proof does not hold")
	ErrConsistency = errors.New("consistency proof does not hold")
	ErrEncoding    = errors.New("zip is not the canonical encoding of its files")
	ErrRecord      = errors.New("signed record does not verify")

	// ErrNoCheckpoint and ErrNotProved are errors of Build: no ledger has
	// a checkpoint in the period, or a sampled entry is signed by none.
	ErrNoCheckpoint = errors.New("no signed checkpoint in the period")
	ErrNotProved    = errors.New("no checkpoint of the period signs it")
)

// An Error says which file of a pack does not verify and why. Kind is one
// of the Err variables above.
type Error struct {
	File   string // the name in the pack; "" for the pack as a whole
	Kind   error
	Detail string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("evidence pack: ")
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	b.WriteString(e.Kind.Error())
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Kind }

func fail(file string, kind error, format string, args ...any) *Error {
	return &Error{File: file, Kind: kind, Detail: fmt.Sprintf(format, args...)}
}

// A Result is what a pack that verifies holds.
type Result struct {
	Manifest    Manifest
	Origins     []string // the ledgers, by origin
	Checkpoints int
	Entries     int  // sampled entries, each proved
	Records     int  // signed rewrite, erasure and policy records, each checked
	Report      bool // report.json is in the pack
}

// maxFile bounds the size of one file of a pack, read in memory.
const maxFile = 256 << 20

// Verify checks an evidence pack offline with the verifier key of the
// log's writer: the manifest's signature, every file's SHA-256, no file
// outside the manifest, the pack's verifier key, every checkpoint's
// signature, the consistency proof from each ledger's first checkpoint to
// its last, every sampled entry's inclusion proof against its ledger's
// last checkpoint (through its rewrite records, for a rewrapped entry),
// every signed rewrite, erasure and policy record, and last that the zip is byte for byte the
// canonical encoding of its files. The first problem found is a *Error.
func Verify(pack []byte, v note.Verifier) (*Result, error) {
	files, err := readPack(pack)
	if err != nil {
		return nil, err
	}
	m, err := verifyManifest(files, v)
	if err != nil {
		return nil, err
	}
	if err := verifyKey(files, v); err != nil {
		return nil, err
	}
	res := &Result{Manifest: m}
	_, res.Report = files[ReportJSONName]
	last, err := verifyCheckpoints(files, v, res)
	if err != nil {
		return nil, err
	}
	if err := verifyEntries(files, v, last, res); err != nil {
		return nil, err
	}
	if err := verifyRecords(files, v, res); err != nil {
		return nil, err
	}
	// Every byte: the zip is the canonical encoding of what it holds, so
	// that no change, even outside the files (a header, a comment), goes
	// unnoticed.
	var canon bytes.Buffer
	if err := writeZip(&canon, files); err != nil {
		return nil, fail("", ErrMalformed, "%v", err)
	}
	if !bytes.Equal(canon.Bytes(), pack) {
		return nil, fail("", ErrEncoding, "a zip header, comment or order was changed")
	}
	return res, nil
}

// readPack reads the pack's files, each within maxFile bytes.
func readPack(pack []byte) (map[string][]byte, error) {
	zr, err := zip.NewReader(bytes.NewReader(pack), int64(len(pack)))
	if err != nil {
		return nil, fail("", ErrMalformed, "%v", err)
	}
	files := map[string][]byte{}
	for _, f := range zr.File {
		if _, dup := files[f.Name]; dup {
			return nil, fail(f.Name, ErrMalformed, "twice in the zip")
		}
		if f.UncompressedSize64 > maxFile {
			return nil, fail(f.Name, ErrMalformed, "%d bytes, at most %d", f.UncompressedSize64, maxFile)
		}
		rc, err := f.Open()
		if err != nil {
			return nil, fail(f.Name, ErrMalformed, "%v", err)
		}
		b, err := io.ReadAll(io.LimitReader(rc, maxFile+1))
		rc.Close()
		if err != nil {
			return nil, fail(f.Name, ErrMalformed, "%v", err)
		}
		files[f.Name] = b
	}

	return files, nil
}

// verifyManifest checks the manifest's signature and every file it lists,
// and that it lists every file.
func verifyManifest(files map[string][]byte, v note.Verifier) (Manifest, error) {
	mb, ok := files[ManifestName]
	if !ok {
		return Manifest{}, fail(ManifestName, ErrMissing, "")
	}
	sig, ok := files[SignatureName]
	if !ok {
		return Manifest{}, fail(SignatureName, ErrMissing, "")
	}
	n, err := note.Open(sig, note.VerifierList(v))
	if err != nil {
		return Manifest{}, fail(SignatureName, ErrSignature, "%v", err)
	}
	if n.Text != signatureText(mb) {
		return Manifest{}, fail(ManifestName, ErrHash, "the signed hash is of another manifest")
	}
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(mb))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return Manifest{}, fail(ManifestName, ErrMalformed, "%v", err)
	}
	if m.Format != Format {
		return Manifest{}, fail(ManifestName, ErrMalformed, "format %q, want %q", clip(m.Format), Format)
	}

	// Every file, as listed.
	listed := map[string]bool{ManifestName: true, SignatureName: true}
	for _, f := range m.Files {
		if listed[f.Name] {
			return Manifest{}, fail(f.Name, ErrMalformed, "listed twice in the manifest")
		}
		listed[f.Name] = true
		b, ok := files[f.Name]
		if !ok {
			return Manifest{}, fail(f.Name, ErrMissing, "")
		}
		sum := sha256.Sum256(b)
		if hex.EncodeToString(sum[:]) != f.SHA256 || len(b) != f.Size {
			return Manifest{}, fail(f.Name, ErrHash, "")
		}
	}
	for _, name := range sortedKeys(files) {
		if !listed[name] {
			return Manifest{}, fail(name, ErrUnlisted, "")
		}
	}

	return m, nil
}

// verifyKey checks that the pack's verifier key is the one given.
func verifyKey(files map[string][]byte, v note.Verifier) error {
	kb, ok := files[VerifierKeyName]
	if !ok {
		return fail(VerifierKeyName, ErrMissing, "")
	}
	pv, err := ledger.NewVerifier(string(kb))
	if err != nil {
		return fail(VerifierKeyName, ErrMalformed, "not a verifier key")
	}
	if pv.Name() != v.Name() || pv.KeyHash() != v.KeyHash() {
		return fail(VerifierKeyName, ErrKey, "the pack's key is %s+%08x, the given one %s+%08x", pv.Name(), pv.KeyHash(), v.Name(), v.KeyHash())
	}
	return nil
}

// verifyCheckpoints checks the checkpoints of each ledger, in order, and
// the consistency proof from the first to the last; it returns the last
// checkpoint of each origin.
func verifyCheckpoints(files map[string][]byte, v note.Verifier, res *Result) (map[string]*ledger.Checkpoint, error) {
	last := map[string]*ledger.Checkpoint{} // by origin
	slugs := map[string][]string{}
	for _, name := range sortedKeys(files) {
		if rest, ok := strings.CutPrefix(name, "checkpoints/"); ok {
			slug, _, _ := strings.Cut(rest, "/")
			slugs[slug] = append(slugs[slug], name)
		}
	}
	for _, slug := range sortedKeys(slugs) {
		var first, prev *ledger.Checkpoint
		for i, name := range slugs[slug] {
			if name != checkpointName(slug, i) {
				return nil, fail(name, ErrMalformed, "want %s", checkpointName(slug, i))
			}
			c, _, err := ledger.OpenCheckpoint(files[name], note.VerifierList(v))
			if err != nil {
				return nil, fail(name, ErrCheckpoint, "%v", err)
			}
			if ledger.Slug(c.Origin) != slug {
				return nil, fail(name, ErrCheckpoint, "a checkpoint of %s under %s", clip(c.Origin), slug)
			}
			if prev != nil && (c.Size < prev.Size || c.Time.Before(prev.Time)) {
				return nil, fail(name, ErrCheckpoint, "a tree of %d leaves at %s after one of %d at %s", c.Size, c.Time, prev.Size, prev.Time)
			}
			if first == nil {
				first = c
			}
			prev = c
			res.Checkpoints++
		}
		cname := consistencyName(slug)
		cb, ok := files[cname]
		if !ok {
			return nil, fail(cname, ErrMissing, "")
		}
		p, err := ledger.ParseConsistencyProof(cb)
		if err != nil {
			return nil, fail(cname, ErrMalformed, "%v", err)
		}
		if err := ledger.VerifyConsistency(p, first, prev); err != nil {
			return nil, fail(cname, ErrConsistency, "%v", err)
		}
		last[prev.Origin] = prev
		res.Origins = append(res.Origins, prev.Origin)
	}
	for _, name := range sortedKeys(files) {
		if rest, ok := strings.CutPrefix(name, "consistency/"); ok && slugs[strings.TrimSuffix(rest, ".json")] == nil {
			return nil, fail(name, ErrMalformed, "a consistency proof of a ledger with no checkpoint in the pack")
		}
	}

	return last, nil
}

// verifyEntries checks every sampled entry against its proof, and the
// proof against its ledger's last checkpoint in the pack.
func verifyEntries(files map[string][]byte, v note.Verifier, last map[string]*ledger.Checkpoint, res *Result) error {
	for _, name := range sortedKeys(files) {
		id, ok := strings.CutPrefix(name, "entries/")
		if !ok {
			if id, ok := strings.CutPrefix(name, "proofs/"); ok {
				if _, ok := files["entries/"+id]; !ok {
					return fail("entries/"+id, ErrMissing, "the entry of %s", name)
				}
			}
			continue
		}
		pname := "proofs/" + id
		if path.Dir(name) != "entries" || path.Ext(name) != ".json" {
			return fail(name, ErrMalformed, "want entries/ID.json")
		}
		pb, ok := files[pname]
		if !ok {
			return fail(pname, ErrMissing, "the proof of %s", name)
		}
		p, err := ledger.ParseProof(pb)
		if err != nil {
			return fail(pname, ErrMalformed, "%v", err)
		}
		if p.Line+"\n" != string(files[name]) {
			return fail(name, ErrInclusion, "the entry is not the line its proof proves")
		}
		c, err := ledger.VerifyProof(p, v)
		if err != nil {
			return fail(pname, ErrInclusion, "%v", err)
		}
		if lc := last[c.Origin]; lc == nil || lc.Size != c.Size || !bytes.Equal(lc.Root, c.Root) {
			return fail(pname, ErrInclusion, "proved against a checkpoint that is not the last of %s in the pack", clip(c.Origin))
		}
		res.Entries++
	}

	return nil
}

// verifyRecords checks every signed record of the pack (records/): its
// name, its signature by the writer's key, its form, and that it names
// the origin of the ledger it is filed under.
func verifyRecords(files map[string][]byte, v note.Verifier, res *Result) error {
	for _, name := range sortedKeys(files) {
		rest, ok := strings.CutPrefix(name, "records/")
		if !ok {
			continue
		}
		parts := strings.Split(rest, "/")
		if len(parts) != 3 || parts[1] != kindRewrites && parts[1] != kindErasures && parts[1] != kindPolicies ||
			path.Ext(parts[2]) != ".note" || parts[0] == "" {
			return fail(name, ErrMalformed, "want records/SLUG/{rewrites,erasures,policies}/SEQ.note")
		}
		r := record{blob: name, slug: parts[0], kind: parts[1], msg: files[name]}
		if err := r.parse(note.VerifierList(v)); err != nil {
			return fail(name, ErrRecord, "%v", err)
		}
		res.Records++
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
