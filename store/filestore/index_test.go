package filestore_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/store/storetest"
)

// TestDamagedIndexEntriesFoundOnFirstUse damages the entries of an index
// sidecar, leaving its header (checked at open) intact: a reader must
// answer counts from the header and, on first use of the entries (a Get, a
// scan cut within the file), find the damage and answer from the file, not
// from the entries; a writer's open rewrites the sidecar.
func TestDamagedIndexEntriesFoundOnFirstUse(t *testing.T) {
	t.Parallel()
	const n = 50
	le := binary.LittleEndian
	entry := func(i int) int { return 64 + i*32 } // offset of entry i (key order is time order here)
	castagnoli := crc32.MakeTable(crc32.Castagnoli)
	for _, tc := range []struct {
		name    string
		damage  func(idx []byte)
		wantErr bool // the header disagrees with the file: lookups fail
	}{
		// Trusted, each would make an answer wrong: Get(recs[3]) would
		// miss, Get(recs[5]) read another line, the scan below start
		// after recs[10].
		{name: "key", damage: func(b []byte) { b[entry(3)+15] ^= 0xff }},
		{name: "offset", damage: func(b []byte) { le.PutUint64(b[entry(5)+16:], le.Uint64(b[entry(5)+16:])+1) }},
		{name: "time", damage: func(b []byte) { le.PutUint64(b[entry(10)+24:], 0) }},
		{name: "trailer", damage: func(b []byte) { b[len(b)-1] ^= 1 }},
		{name: "header disagrees", wantErr: true, damage: func(b []byte) {
			b[entry(7)] ^= 1
			le.PutUint64(b[40:], le.Uint64(b[40:])-1) // min time, with a header CRC to match
			le.PutUint32(b[60:], crc32.Checksum(b[:60], castagnoli))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			recs := fill(t, dir, n, nil)
			idx := filepath.Join(dir, ".comply", "index", dayFile+".idx")
			orig, err := os.ReadFile(idx)
			if err != nil || len(orig) != 64+n*32+4 {
				t.Fatalf("index: %d bytes, %v", len(orig), err)
			}
			damaged := bytes.Clone(orig)
			tc.damage(damaged)
			if err := os.WriteFile(idx, damaged, 0o600); err != nil {
				t.Fatal(err)
			}

			r := openT(t, dir, &filestore.Options{ReadOnly: true})
			if c, err := r.Count(t.Context()); err != nil || c != n {
				t.Fatalf("Count = %d, %v; want %d from the header", c, err, n)
			}
			q := store.Query{Start: recs[10].Time, End: recs[30].Time}
			var ids []string
			var scanErr error
			for rec, err := range r.Scan(t.Context(), q) {
				if err != nil {
					scanErr = err
					break
				}
				ids = append(ids, rec.ID)
			}
			var getErr error
			for _, rec := range recs {
				got, err := r.Get(t.Context(), rec.ID)
				if err != nil {
					getErr = err
					continue
				}
				if !bytes.Equal(got.Line, rec.Line) {
					t.Fatalf("Get(%s) = %q, want %q", rec.ID, got.Line, rec.Line)
				}
			}
			if tc.wantErr {
				if scanErr == nil || getErr == nil || errors.Is(getErr, store.ErrNotFound) {
					t.Fatalf("scan error %v, Get error %v; want both to report the index", scanErr, getErr)
				}
			} else {
				if scanErr != nil || !slices.Equal(ids, storetest.IDs(recs[10:31])) {
					t.Fatalf("Scan(%v) = %d entries, %v; want recs[10:31]", q, len(ids), scanErr)
				}
				if getErr != nil {
					t.Fatalf("Get: %v", getErr)
				}
			}
			r.Close()
			if b, _ := os.ReadFile(idx); !bytes.Equal(b, damaged) {
				t.Fatal("a reader rewrote the index")
			}

			w := openT(t, dir, nil)
			if c, err := w.Count(t.Context()); err != nil || c != n {
				t.Fatalf("writer: Count = %d, %v", c, err)
			}
			w.Close()
			if b, _ := os.ReadFile(idx); !bytes.Equal(b, orig) {
				t.Fatal("a writer's open did not rebuild the damaged index")
			}
		})
	}
}
