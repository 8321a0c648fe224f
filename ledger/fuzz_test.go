package ledger_test

import (
	"bytes"
	"testing"

	"github.com/complyhq/comply/ledger"
)

const sampleCheckpoint = "comply/host/1\n42\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\ntime 2026-03-01T02:03:04.000000005Z\nheartbeat 1m0s\nclosed\n"

func FuzzParseCheckpoint(f *testing.F) {
	f.Add(sampleCheckpoint)
	f.Add("o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Add("o\n1\nAAAA\nextra line\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ledger.ParseCheckpoint(text)
		if err != nil {
			return
		}
		// What parses formats back to something that parses the same.
		d, err := ledger.ParseCheckpoint(c.Text())
		if err != nil {
			t.Fatalf("reparse of %q: %v", c.Text(), err)
		}
		if d.Text() != c.Text() {
			t.Fatalf("round trip %q != %q", d.Text(), c.Text())
		}
	})
}

func FuzzSplitNotes(f *testing.F) {
	signer, _ := keys(f, "fuzz")
	one, _ := ledger.SignCheckpointForTest(signer)
	f.Add(one)
	f.Add(append(append([]byte{}, one...), one...))
	f.Add([]byte("a\n\n— x y\nb\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		notes, err := ledger.SplitNotes(b)
		if err == nil && !bytes.Equal(bytes.Join(notes, nil), b) {
			t.Fatalf("notes do not add up to the input")
		}
	})
}

func FuzzParseTile(f *testing.F) {
	f.Add(ledger.AppendTile(nil, []ledger.Leaf{{Time: 1}, {Time: 2}}))
	f.Add([]byte("comply-leaves/v1\n"))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		leaves, err := ledger.ParseTile(b)
		if err != nil {
			return
		}
		if got := ledger.AppendTile(nil, leaves); !bytes.Equal(got, b) {
			t.Fatalf("round trip differs")
		}
	})
}

func FuzzParseProof(f *testing.F) {
	f.Add([]byte(`{"format":"comply-inclusion-proof/v1","line":"{}","leaf_index":0,"tree_size":1,"hashes":[],"checkpoint":"x"}`))
	f.Add([]byte(`{"format":"comply-inclusion-proof/v1","line":"{}","leaf_index":3,"tree_size":9,"hashes":["BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="],"checkpoint":"` + "o\\n9\\nBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc=\\n\\n— k AAAAAAA=\\n" + `"}`))
	f.Add([]byte(`[]`))
	_, v := keys(f, "fuzz")
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ledger.ParseProof(b)
		if err != nil {
			return
		}
		// Checking a parsed proof never panics, whatever it holds.
		ledger.VerifyProof(p, v)
	})
}

func FuzzParseDeletion(f *testing.F) {
	f.Add("comply-deletion/v1\ncomply/x\nreason retention\ntime 2026-03-01T00:00:00Z\nsize 10\ncutoff 2026-03-01T00:00:00Z\nleaves 0-4\nleaf 6 0195-x\n")
	f.Add("comply-deletion/v1\ncomply/x\nreason request\ntime 2026-03-01T00:00:00Z\nsize 10\nleaf 6 id\n")
	f.Fuzz(func(t *testing.T, text string) {
		d, err := ledger.ParseDeletion(text)
		if err != nil {
			return
		}
		if _, err := ledger.ParseDeletion(d.Text()); err != nil {
			t.Fatalf("reparse of %q: %v", d.Text(), err)
		}
	})
}
