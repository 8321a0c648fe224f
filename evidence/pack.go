package evidence

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
)

// Format is the format name of an evidence pack, in its manifest.
const Format = "comply-evidence-pack/v1"

// The fixed names of a pack.
const (
	ManifestName    = "manifest.json"
	SignatureName   = "manifest.sig"
	VerifierKeyName = "verifier.key"
	ReportJSONName  = "report.json"
	ReportHTMLName  = "report.html"
)

// zipTime is the modification time of every file of a pack, so that the
// same inputs give the same bytes.
var zipTime = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Options says what a pack holds. Start and End are inclusive; a zero
// bound is unbounded.
type Options struct {
	Start, End time.Time
	Period     string // a label, e.g. "2026-Q3"; "" for explicit bounds

	// Signer signs the manifest. Its verifier checks the checkpoints too,
	// unless Verifiers is set.
	Signer    *ledger.Signer
	Verifiers []note.Verifier

	// SampleSize entries of the period are sampled (Sample) with
	// SampleSeed, unless IDs names them (the sample of the report).
	SampleSize int
	SampleSeed uint64
	IDs        []string

	// ReportJSON and ReportHTML are the compliance report of the period,
	// if any, stored as report.json and report.html.
	ReportJSON, ReportHTML []byte
}

// A Manifest lists every file of a pack but the manifest and its
// signature, with its SHA-256. It is manifest.json.
type Manifest struct {
	Format string    `json:"format"`
	Period string    `json:"period,omitempty"`
	Start  time.Time `json:"start,omitzero"`
	End    time.Time `json:"end,omitzero"`
	Sample struct {
		Size int    `json:"size"`
		Seed uint64 `json:"seed"`
	} `json:"sample"`
	Files []File `json:"files"`
}

// A File is one file of a pack, as its manifest lists it.
type File struct {
	Name   string `json:"name"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"` // hex
}

// signatureText is the text of the signed note manifest.sig: the format
// and the manifest's SHA-256.
func signatureText(manifest []byte) string {
	sum := sha256.Sum256(manifest)
	return Format + "\n" + ManifestName + " sha256 " + hex.EncodeToString(sum[:]) + "\n"
}

// Build writes the evidence pack of a store to w (see the package doc and
// docs/format.md). It only reads the store. A ledger with no checkpoint in
// the period is left out; a period with no checkpoint at all is an error.
func Build(ctx context.Context, st store.SidecarStore, w io.Writer, opts *Options) error {
	if opts == nil || opts.Signer == nil {
		return errors.New("evidence: build: no signing key for the manifest")
	}
	vs := opts.Verifiers
	if len(vs) == 0 {
		vs = []note.Verifier{opts.Signer.Verifier()}
	}
	files := map[string][]byte{VerifierKeyName: []byte(opts.Signer.VerifierKey() + "\n")}
	if opts.ReportJSON != nil {
		files[ReportJSONName] = opts.ReportJSON
	}
	if opts.ReportHTML != nil {
		files[ReportHTMLName] = opts.ReportHTML
	}

	origins, err := ledger.Origins(ctx, st)
	if err != nil {
		return fmt.Errorf("evidence: build: %w", err)
	}
	var lasts []ledger.SignedCheckpoint
	for _, origin := range origins {
		cps, err := ledger.SignedHistory(ctx, st, origin, note.VerifierList(vs...), opts.Start, time.Time{})
		if err != nil {
			return fmt.Errorf("evidence: build: %w", err)
		}
		// The period's checkpoints and the first after it, which covers
		// the period's end (its last entries, signed a moment later).
		if !opts.End.IsZero() {
			if i := slices.IndexFunc(cps, func(c ledger.SignedCheckpoint) bool { return c.Time.After(opts.End) }); i >= 0 {
				cps = cps[:i+1]
			}
		}
		if len(cps) == 0 {
			continue
		}
		slug := ledger.Slug(origin)
		for i, c := range cps {
			files[checkpointName(slug, i)] = c.Note
		}
		p, err := ledger.ProveConsistency(ctx, st, cps[0].Checkpoint, cps[len(cps)-1].Checkpoint)
		if err != nil {
			return fmt.Errorf("evidence: build: %w", err)
		}
		if files[consistencyName(slug)], err = p.Marshal(); err != nil {
			return err
		}
		lasts = append(lasts, cps[len(cps)-1])
	}
	if len(lasts) == 0 {
		return fmt.Errorf("evidence: build: %w", ErrNoCheckpoint)
	}

	records, err := readRecords(ctx, st, note.VerifierList(vs...))
	if err != nil {
		return err
	}
	for _, r := range periodRecords(records, opts.Start, opts.End) {
		files[recordName(r)] = r.msg
	}
	recs, err := proveSample(ctx, st, opts, lasts, records, files)
	if err != nil {
		return err
	}

	if err := signManifest(files, opts, len(recs)); err != nil {
		return err
	}
	return writeZip(w, files)
}

// proveSample adds to files the sampled entries (or those opts.IDs names)
// and their inclusion proofs against the ledgers' last checkpoints in the
// pack, and returns the entries. A rewrapped entry's proof carries the
// rewrite records from its signed leaf to its line.
func proveSample(ctx context.Context, st store.SidecarStore, opts *Options, lasts []ledger.SignedCheckpoint, records []record, files map[string][]byte) ([]store.Record, error) {
	recs, err := sampleOf(ctx, st, opts)
	if err != nil {
		return nil, err
	}
	proved := make([]bool, len(recs))
	for _, cp := range lasts {
		proofs, err := ledger.ProveAt(ctx, st, cp, recs)
		if err != nil {
			return nil, fmt.Errorf("evidence: build: %w", err)
		}
		for i, p := range proofs {
			if p == nil && !proved[i] {
				if p, err = proveRewrapped(ctx, st, cp, records, recs[i]); err != nil {
					return nil, err
				}
			}
			if p == nil || proved[i] {
				continue
			}
			b, err := p.Marshal()
			if err != nil {
				return nil, err
			}
			files["entries/"+recs[i].ID+".json"] = append(slices.Clip(recs[i].Line), '\n')
			files["proofs/"+recs[i].ID+".json"] = b
			proved[i] = true
		}
	}
	for i, ok := range proved {
		if !ok {
			return nil, fmt.Errorf("evidence: build: entry %s: %w", recs[i].ID, ErrNotProved)
		}
	}
	return recs, nil
}

// signManifest adds the manifest of files, and its signature, to files.
func signManifest(files map[string][]byte, opts *Options, sampled int) error {
	m := Manifest{Format: Format, Period: opts.Period, Start: opts.Start.UTC(), End: opts.End.UTC()}
	if opts.Start.IsZero() {
		m.Start = time.Time{}
	}
	if opts.End.IsZero() {
		m.End = time.Time{}
	}
	m.Sample.Size, m.Sample.Seed = sampled, opts.SampleSeed
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		sum := sha256.Sum256(files[name])
		m.Files = append(m.Files, File{Name: name, Size: len(files[name]), SHA256: hex.EncodeToString(sum[:])})
	}
	mb, err := json.MarshalIndent(&m, "", "  ")
	if err != nil {
		return err
	}
	mb = append(mb, '\n')
	sig, err := note.Sign(&note.Note{Text: signatureText(mb)}, opts.Signer)
	if err != nil {
		return fmt.Errorf("evidence: build: signing the manifest: %w", err)
	}
	files[ManifestName], files[SignatureName] = mb, sig
	return nil
}

// sampleOf returns the records to prove: those opts.IDs names, or a
// sample of the period.
func sampleOf(ctx context.Context, st store.Store, opts *Options) ([]store.Record, error) {
	if opts.IDs == nil {
		return Sample(ctx, st, opts.Start, opts.End, opts.SampleSize, opts.SampleSeed)
	}
	recs := make([]store.Record, 0, len(opts.IDs))
	for _, id := range opts.IDs {
		rec, err := st.Get(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("evidence: build: entry %s: %w", id, err)
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

// checkpointName is the name in a pack of the i-th checkpoint of a ledger.
func checkpointName(slug string, i int) string {
	return fmt.Sprintf("checkpoints/%s/%06d.note", slug, i)
}

// consistencyName is the name in a pack of a ledger's consistency proof.
func consistencyName(slug string) string {
	return "consistency/" + slug + ".json"
}

// writeZip writes the files as a zip, the manifest and its signature
// first, then in name order, with fixed times and no compression: the
// canonical encoding of the files, which Verify requires byte for byte.
func writeZip(w io.Writer, files map[string][]byte) error {
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	slices.SortFunc(names, func(a, b string) int {
		// The manifest and its signature first: a reader sees what to expect.
		return strings.Compare(rank(a)+a, rank(b)+b)
	})
	zw := zip.NewWriter(w)
	for _, name := range names {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: zipTime})
		if err != nil {
			return fmt.Errorf("evidence: write %s: %w", name, err)
		}
		if _, err := io.Copy(fw, bytes.NewReader(files[name])); err != nil {
			return fmt.Errorf("evidence: write %s: %w", name, err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("evidence: write: %w", err)
	}
	return nil
}

func rank(name string) string {
	switch name {
	case ManifestName:
		return "0"
	case SignatureName:
		return "1"
	}
	return "2"
}
