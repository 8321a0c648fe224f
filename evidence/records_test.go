package evidence_test

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/evidence"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

// recordsFixture is fixture with signed records: a policy at 00:30
// (before the pack's period, in force at its start), an erasure at 00:30
// (before it) and one at 01:30, the entries of 01:00 rewrapped at 02:30,
// and a second policy at 02:30. It returns the store's directory and the
// rewrapped entries' ids.
func recordsFixture(t testing.TB, s *ledger.Signer) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	var rewrapped []string
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
		ctx := t.Context()
		switch i {
		case 0, 1:
			e := &ledger.Erasure{Subject: "user_id", HMAC: "hmac-" + string(rune('a'+i)), KeyID: "dk", Time: at, LegalHold: i == 1, Reason: "request"}
			if err := lg.RecordErasure(ctx, e); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				if _, err := lg.RecordPolicy(ctx, `{"default":{"level":"hash"},"rules":[]}`); err != nil {
					t.Fatal(err)
				}
			}
		case 2:
			rw := func(r store.Record) ([]byte, bool, error) {
				if r.Time.Hour() != day1.Hour()+1 {
					return nil, false, nil
				}
				rewrapped = append(rewrapped, r.ID)
				return bytes.Replace(r.Line, []byte(`"openai"`), []byte(`"v2"`), 1), true, nil
			}
			if n, err := lg.Rewrite(ctx, "audit_20260301.jsonl", "key rotation", rw); err != nil || n != 10 {
				t.Fatalf("Rewrite = %d, %v", n, err)
			}
			if _, err := lg.RecordPolicy(ctx, `{"default":{"level":"keyed-hash"},"rules":[]}`); err != nil {
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
	return dir, rewrapped
}

// TestPackRecords: a pack holds the period's signed records and proves a
// rewrapped entry through its rewrite records; a changed record fails.
func TestPackRecords(t *testing.T) {
	t.Parallel()
	s, v := fixedKey(t, "prod", zeros{})
	other, _ := fixedKey(t, "prod", strings.NewReader(strings.Repeat("x", 64)))
	dir, rewrapped := recordsFixture(t, s)
	opts := options(s)
	opts.IDs = rewrapped[:2]
	pack := build(t, dir, opts)
	if again := build(t, dir, opts); !bytes.Equal(pack, again) {
		t.Error("two builds of the same store and options differ")
	}
	res, err := evidence.Verify(pack, v)
	if err != nil {
		t.Fatal(err)
	}
	if res.Records != 4 || res.Entries != 2 {
		t.Errorf("result %+v, want 4 records (2 policies, 1 erasure, 1 rewrite) and 2 entries", res)
	}
	files := unzip(t, pack)
	var names []string
	for n := range files {
		if strings.HasPrefix(n, "records/") {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	want := []string{
		"records/comply-evidence-test/erasures/000000000001.note",
		"records/comply-evidence-test/policies/000000000000.note",
		"records/comply-evidence-test/policies/000000000001.note",
		"records/comply-evidence-test/rewrites/000000000000.note",
	}
	if !slices.Equal(names, want) {
		t.Errorf("records %v, want %v", names, want)
	}
	p, err := ledger.ParseProof(files["proofs/"+rewrapped[0]+".json"])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.VerifyProof(p, v); err != nil || len(p.Rewrites) != 1 {
		t.Errorf("the rewrapped entry's proof: %d rewrite records, %v", len(p.Rewrites), err)
	}

	rec := want[1]
	tests := []struct {
		name   string
		edit   func(map[string][]byte)
		resign bool
		kind   error
	}{
		{"a byte of a record", func(f map[string][]byte) {
			b := slices.Clone(f[rec])
			b[len(b)/3] ^= 1
			f[rec] = b
		}, false, evidence.ErrHash},
		{"a record signed by another key, resigned", func(f map[string][]byte) {
			text, _, _ := strings.Cut(string(f[rec]), "\n\n")
			f[rec], _ = note.Sign(&note.Note{Text: text + "\n"}, other)
		}, true, evidence.ErrRecord},
		{"a record's text changed, resigned", func(f map[string][]byte) {
			f[rec] = bytes.Replace(f[rec], []byte("hash"), []byte("none"), 1)
		}, true, evidence.ErrRecord},
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
			if !errors.As(err, &pe) || pe.File != rec || !errors.Is(err, tt.kind) {
				t.Fatalf("got %v, want %v in %s", err, tt.kind, rec)
			}
		})
	}
}
