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

// FuzzParseAdoption: what parses formats back to the same text.
func FuzzParseAdoption(f *testing.F) {
	f.Add("comply-adoption/v1\no\ntime 2026-01-02T03:04:05Z\nkey k+01020304\nsize 5\nmissing 0\njournal-errors 0\nno-ledger true\nreason imported\nleaves 0-4\n")
	f.Add("comply-adoption/v1\no\ntime x\n")
	f.Fuzz(func(t *testing.T, text string) {
		a, err := ledger.ParseAdoption(text)
		if err != nil {
			return
		}
		b, err := ledger.ParseAdoption(a.Text())
		if err != nil || b.Text() != a.Text() {
			t.Fatalf("reparse of %q: %v", a.Text(), err)
		}
	})
}

// FuzzParseBackfill: what parses formats back to the same text.
func FuzzParseBackfill(f *testing.F) {
	f.Add("comply-backfill/v1\no\ntime 2026-01-02T03:04:05Z\nsize 9\nleaves 1-2\nleaves 5-5\n")
	f.Add("comply-backfill/v1\no\ntime 2026-01-02T03:04:05Z\nsize 1\nleaves 3-2\n")
	f.Fuzz(func(t *testing.T, text string) {
		b, err := ledger.ParseBackfill(text)
		if err != nil {
			return
		}
		c, err := ledger.ParseBackfill(b.Text())
		if err != nil || c.Text() != b.Text() {
			t.Fatalf("reparse of %q: %v", b.Text(), err)
		}
	})
}

// FuzzReadJournal: any bytes read as a journal give intents or an error,
// never a panic.
func FuzzReadJournal(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 'A'})
	f.Add([]byte{0, 0, 0, 17, 'I', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ledger.ReadJournalForTest(b)
	})
}
