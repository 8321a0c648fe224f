package evidence

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
)

// The kinds of signed records a pack holds, by the ledger directory that
// keeps them (docs/format.md): records/<slug>/<kind>/<seq>.note.
const (
	kindRewrites = "rewrites"
	kindErasures = "erasures"
	kindPolicies = "policies"
)

// ledgerRoot is where the ledgers' blobs are (docs/format.md, section 4).
const ledgerRoot = "ledger/"

// A record is one signed record of a ledger, as its blob holds it.
type record struct {
	blob, slug, kind string
	msg              []byte
	time             time.Time
	rewrite          *ledger.Rewrite // kind rewrites
}

// recordName is the name in a pack of a record kept in blob.
func recordName(r record) string {
	return "records/" + r.slug + "/" + r.kind + "/" + path.Base(r.blob) + ".note"
}

// readRecords reads the signed rewrite, erasure and policy records of every
// ledger of the store, in blob order, each signed by one of known.
func readRecords(ctx context.Context, sc store.Sidecar, known note.Verifiers) ([]record, error) {
	names, err := sc.ListBlobs(ctx, ledgerRoot)
	if err != nil {
		return nil, fmt.Errorf("evidence: build: %w", err)
	}
	slices.Sort(names)
	var out []record
	for _, name := range names {
		parts := strings.Split(strings.TrimPrefix(name, ledgerRoot), "/")
		if len(parts) != 3 || parts[1] != kindRewrites && parts[1] != kindErasures && parts[1] != kindPolicies {
			continue
		}
		msg, err := sc.ReadBlob(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("evidence: build: %s: %w", name, err)
		}
		r := record{blob: name, slug: parts[0], kind: parts[1], msg: msg}
		if err := r.parse(known); err != nil {
			return nil, fmt.Errorf("evidence: build: %s: %w", name, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// parse checks r's signature against known and reads its time (and a
// rewrite's leaves); the origin it names must be its ledger's.
func (r *record) parse(known note.Verifiers) error {
	n, err := note.Open(r.msg, known)
	if err != nil {
		return err
	}
	var origin string
	switch r.kind {
	case kindRewrites:
		w, err := ledger.ParseRewrite(n.Text)
		if err != nil {
			return err
		}
		origin, r.time, r.rewrite = w.Origin, w.Time, w
	case kindErasures:
		e, err := ledger.ParseErasure(n.Text)
		if err != nil {
			return err
		}
		origin, r.time = e.Origin, e.Time
	case kindPolicies:
		p, err := ledger.ParsePolicyRecord(n.Text)
		if err != nil {
			return err
		}
		origin, r.time = p.Origin, p.Time
	}
	if ledger.Slug(origin) != r.slug {
		return fmt.Errorf("a record of origin %q in the ledger %s", clip(origin), r.slug)
	}
	return nil
}

// periodRecords returns the records a pack of [start, end] holds: the
// rewrite and erasure records written within it, and the policy records
// in force in it (the last one written before start, and those within).
func periodRecords(recs []record, start, end time.Time) []record {
	in := func(t time.Time) bool {
		return (start.IsZero() || !t.Before(start)) && (end.IsZero() || !t.After(end))
	}
	var out []record
	before := map[string]int{} // slug -> the last policy record before start
	for i, r := range recs {
		switch {
		case in(r.time):
			out = append(out, r)
		case r.kind == kindPolicies && !start.IsZero() && r.time.Before(start):
			if j, ok := before[r.slug]; !ok || !recs[j].time.After(r.time) {
				before[r.slug] = i
			}
		}
	}
	for _, i := range before {
		out = append(out, recs[i])
	}
	return out
}

// proveRewrapped returns the inclusion proof, against cp, of a record
// whose line was rewritten since it was signed (a rewrap): the signed
// rewrite records that lead from its signed leaf to its line go with it
// (Proof.Rewrites), so that 'comply verify-proof' checks them. It returns
// nil if no rewrite record of cp's ledger names the line.
func proveRewrapped(ctx context.Context, sc store.Sidecar, cp ledger.SignedCheckpoint, recs []record, rec store.Record) (*ledger.Proof, error) {
	slug := ledger.Slug(cp.Origin)
	type step struct {
		old   [32]byte
		index uint64
		msg   []byte
	}
	byNew := map[[32]byte]step{}
	for _, r := range recs {
		if r.kind != kindRewrites || r.slug != slug {
			continue
		}
		for _, l := range r.rewrite.Leaves {
			byNew[l.New] = step{l.Old, l.Index, r.msg}
		}
	}
	h := ledger.HashLine(rec.Line)
	var chain []string
	index := uint64(0)
	for cur, ok := byNew[h]; ok && len(chain) < 64; cur, ok = byNew[cur.old] {
		if len(chain) > 0 && cur.index != index {
			return nil, nil
		}
		chain, index, h = append([]string{string(cur.msg)}, chain...), cur.index, cur.old
	}
	if len(chain) == 0 || index >= cp.Size {
		return nil, nil
	}
	leaves, err := readLeafHashes(ctx, sc, slug, cp.Size)
	if err != nil {
		return nil, err
	}
	if leaves[index] != h {
		return nil, nil
	}
	nodes, err := proof.Inclusion(index, cp.Size)
	if err != nil {
		return nil, fmt.Errorf("evidence: build: %w", err)
	}
	hashes := make([][]byte, len(nodes.IDs))
	for i, id := range nodes.IDs {
		b, e := id.Coverage()
		hashes[i] = subtreeHash(leaves[b:e])
	}
	if hashes, err = nodes.Rehash(hashes, rfc6962.DefaultHasher.HashChildren); err != nil {
		return nil, fmt.Errorf("evidence: build: %w", err)
	}
	return &ledger.Proof{Format: ledger.ProofFormat, Line: string(rec.Line), LeafIndex: index, TreeSize: cp.Size,
		Hashes: hashes, Checkpoint: string(cp.Note), Rewrites: chain}, nil
}

// readLeafHashes reads the first n leaf hashes of a ledger's leaf tiles.
func readLeafHashes(ctx context.Context, sc store.Sidecar, slug string, n uint64) ([][32]byte, error) {
	names, err := sc.ListBlobs(ctx, ledgerRoot+slug+"/leaves/")
	if err != nil {
		return nil, fmt.Errorf("evidence: build: %w", err)
	}
	slices.Sort(names)
	out := make([][32]byte, 0, n)
	for _, name := range names {
		if uint64(len(out)) >= n {
			break
		}
		b, err := sc.ReadBlob(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("evidence: build: %s: %w", name, err)
		}
		tile, err := ledger.ParseTile(b)
		if err != nil {
			return nil, fmt.Errorf("evidence: build: %s: %w", name, err)
		}
		for _, l := range tile {
			if uint64(len(out)) < n {
				out = append(out, l.Hash)
			}
		}
	}
	if uint64(len(out)) < n {
		return nil, fmt.Errorf("evidence: build: the leaf tiles of %s hold %d leaves, the checkpoint %d", slug, len(out), n)
	}
	return out, nil
}

// subtreeHash is the RFC 6962 hash of the tree of the leaf hashes.
func subtreeHash(leaves [][32]byte) []byte {
	if len(leaves) == 1 {
		return leaves[0][:]
	}
	k := 1
	for k*2 < len(leaves) {
		k *= 2
	}
	return rfc6962.DefaultHasher.HashChildren(subtreeHash(leaves[:k]), subtreeHash(leaves[k:]))
}
