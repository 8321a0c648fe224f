package skipfilter

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden file")

func TestFalsePositiveRate(t *testing.T) {
	tests := []struct {
		n      int
		maxFPR float64
	}{
		{n: 1, maxFPR: 0.01},
		{n: 1000, maxFPR: 0.015},
		{n: 100_000, maxFPR: 0.012},
		{n: 1_000_000, maxFPR: 0.012},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			b := NewBuilder()
			for i := range tt.n {
				b.Add("k", fmt.Sprintf("in-%d", i))
			}
			s := b.Set()
			for i := range tt.n {
				if v := fmt.Sprintf("in-%d", i); !s.MayContain("k", v) {
					t.Fatalf("false negative for %s", v)
				}
			}
			const probes = 200_000
			fp := 0
			for i := range probes {
				if s.MayContain("k", fmt.Sprintf("out-%d", i)) {
					fp++
				}
			}
			if rate := float64(fp) / probes; rate > tt.maxFPR {
				t.Errorf("false positive rate %.4f with %d values, want <= %.4f", rate, tt.n, tt.maxFPR)
			}
		})
	}
}

func TestSetLookup(t *testing.T) {
	b := NewBuilder("conversation_id", "input_hash")
	b.Entry(time.Unix(1, 0))
	b.Add("conversation_id", "conv-1")
	b.Add("metadata.user_id", "alice")
	s := b.Set()
	tests := []struct {
		field  string
		values []string
		want   bool
	}{
		{"conversation_id", []string{"conv-1"}, true},
		{"conversation_id", []string{"conv-2", "conv-1"}, true},
		{"conversation_id", nil, false},
		{"input_hash", []string{"anything"}, false}, // indexed, empty
		{"metadata.user_id", []string{"alice"}, true},
		{"output_hash", []string{"anything"}, true}, // not indexed
	}
	for _, tt := range tests {
		if got := s.MayContain(tt.field, tt.values...); got != tt.want {
			t.Errorf("MayContain(%s, %q) = %v, want %v", tt.field, tt.values, got, tt.want)
		}
	}
	if got, want := fmt.Sprint(s.Fields()), "[conversation_id input_hash metadata.user_id]"; got != want {
		t.Errorf("Fields() = %s, want %s", got, want)
	}
	if s.Entries != 1 {
		t.Errorf("Entries = %d, want 1", s.Entries)
	}
	var nilSet *Set
	if !nilSet.MayContain("conversation_id", "x") {
		t.Error("a nil Set must say may contain")
	}
}

// goldenSet is the Set of testdata/v2.golden: 40 entries in blocks of 16,
// the last ones backfilled.
func goldenSet() *Set {
	b := NewBuilder("conversation_id", "input_hash", "output_hash", "metadata.user_id", "metadata.session_id").BlockEntries(16)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for i := range 40 {
		b.Entry(base.Add(time.Duration((i*7)%40) * time.Minute))
		b.Add("conversation_id", fmt.Sprintf("conv-%d", i%7))
		b.Add("input_hash", fmt.Sprintf("%064x", i))
		b.Add("metadata.user_id", fmt.Sprintf("user-%d", i%3))
	}
	s := b.Set()
	s.Segment = "v42/1234"
	return s
}

func TestGolden(t *testing.T) {
	got := goldenSet().Marshal()
	path := filepath.Join("testdata", "v2.golden")
	if *update {
		if err := os.WriteFile(path, got, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoding changed (%d bytes, golden %d): a format change needs a new Version", len(got), len(want))
	}
	s, err := Unmarshal(want)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Marshal(), want) {
		t.Fatal("Unmarshal then Marshal does not give the golden bytes back")
	}
	if s.Segment != "v42/1234" || s.Entries != 40 {
		t.Errorf("Segment %q, Entries %d: want v42/1234, 40", s.Segment, s.Entries)
	}
	for i := range 7 {
		if !s.MayContain("conversation_id", fmt.Sprintf("conv-%d", i)) {
			t.Errorf("conv-%d lost", i)
		}
	}
	var entries []int64
	for _, b := range s.Blocks() {
		entries = append(entries, b.Entries)
	}
	if !slices.Equal(entries, []int64{16, 16, 8}) {
		t.Errorf("blocks of %v entries, want [16 16 8]", entries)
	}
}

// A version 1 blob (filters per segment, no blocks) is refused: stale.
func TestVersion1Refused(t *testing.T) {
	old, err := os.ReadFile(filepath.Join("testdata", "v1-stale.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if s, err := Unmarshal(old); !errors.Is(err, ErrFormat) || s != nil {
		t.Fatalf("Unmarshal(v1) = %v, %v; want nil and ErrFormat", s, err)
	}
}

// Every value of an entry is found in the entry's block and in the
// segment; blocks cut at the block size; times land in the block range.
func TestBlocks(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 123456789, time.UTC)
	const n, per = 1000, 64
	b := NewBuilder("k").BlockEntries(per)
	times := make([]time.Time, n)
	for i := range n {
		times[i] = base.Add(time.Duration((i*7919)%n) * time.Second) // not in time order
		b.Entry(times[i])
		b.Add("k", fmt.Sprint("v", i))
	}
	s := b.Set()
	if s.Entries != n || len(s.Blocks()) != (n+per-1)/per {
		t.Fatalf("%d entries in %d blocks, want %d in %d", s.Entries, len(s.Blocks()), n, (n+per-1)/per)
	}
	for i := range n {
		blk := s.Blocks()[i/per]
		if v := fmt.Sprint("v", i); !blk.MayContain("k", v) || !s.MayContain("k", v) {
			t.Fatalf("value %s of entry %d lost", v, i)
		}
		start, end := time.UnixMicro(blk.Min), time.UnixMicro(blk.Max).Add(time.Microsecond-1)
		if times[i].Before(start) || times[i].After(end) {
			t.Fatalf("entry %d at %v outside its block's range [%v, %v]", i, times[i], start, end)
		}
	}
	other := 0
	for _, blk := range s.Blocks() {
		if blk.MayContain("k", "v0") {
			other++
		}
		if !blk.MayContain("not indexed", "x") {
			t.Fatal("a field not indexed must say may contain")
		}
	}
	if other > 2 {
		t.Errorf("v0 may be in %d blocks: the block filters do not narrow", other)
	}
}

func TestRanges(t *testing.T) {
	us := func(m int64) time.Time { return time.UnixMicro(m).UTC() }
	end := func(m int64) time.Time { return us(m).Add(time.Microsecond - 1) }
	tests := []struct {
		name   string
		blocks [][2]int64 // min, max per block, in storage order
		match  []int
		want   []Range
	}{
		{"none", [][2]int64{{0, 10}, {11, 20}}, nil, []Range{}},
		{"one", [][2]int64{{0, 10}, {11, 20}, {21, 30}}, []int{1}, []Range{{us(11), end(20)}}},
		{"adjacent kept apart", [][2]int64{{0, 10}, {11, 20}, {21, 30}}, []int{0, 2}, []Range{{us(0), end(10)}, {us(21), end(30)}}},
		{"overlap merged", [][2]int64{{0, 10}, {5, 20}, {21, 30}}, []int{0, 1}, []Range{{us(0), end(20)}}},
		{"shared end merged", [][2]int64{{0, 10}, {10, 20}}, []int{0, 1}, []Range{{us(0), end(20)}}},
		// A backfill: block 2 comes before blocks 0 and 1 in time but after
		// them in storage, so one range keeps the storage order.
		{"backfill merges back", [][2]int64{{10, 20}, {30, 40}, {0, 5}}, []int{0, 1, 2}, []Range{{us(0), end(40)}}},
		{"backfill partial", [][2]int64{{10, 20}, {30, 40}, {50, 60}, {35, 36}}, []int{0, 1, 2, 3}, []Range{{us(10), end(20)}, {us(30), end(60)}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Set{}
			for _, mm := range tt.blocks {
				s.blocks = append(s.blocks, Block{Min: mm[0], Max: mm[1], Entries: 1, set: s})
			}
			got := s.Ranges(func(b *Block) bool {
				for _, i := range tt.match {
					if &s.blocks[i] == b {
						return true
					}
				}
				return false
			})
			if !slices.Equal(got, tt.want) {
				t.Errorf("Ranges = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestUnmarshalDamaged(t *testing.T) {
	good := goldenSet().Marshal()
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x10
		return b
	}
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"magic only", []byte(Magic)},
		{"truncated", good[:len(good)-1]},
		{"half", good[:len(good)/2]},
		{"flipped body", flip(len(good) / 2)},
		{"flipped checksum", flip(len(good) - 1)},
		{"wrong magic", flip(0)},
		{"trailing byte", append(bytes.Clone(good), 0)},
		{"no blocks", func() []byte {
			s := goldenSet()
			s.blocks = nil
			return s.Marshal()
		}()},
		{"blocks short of entries", func() []byte {
			s := goldenSet()
			s.blocks = s.blocks[:2]
			return s.Marshal()
		}()},
		{"future version", func() []byte {
			b := bytes.Clone(good)
			b[len(Magic)] = Version + 1
			return b
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Unmarshal(tt.data)
			if !errors.Is(err, ErrFormat) || s != nil {
				t.Fatalf("Unmarshal = %v, %v; want nil and ErrFormat", s, err)
			}
		})
	}
}

func FuzzUnmarshal(f *testing.F) {
	good, err := os.ReadFile(filepath.Join("testdata", "v2.golden"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(NewBuilder().Set().Marshal())
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Unmarshal(data)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v does not wrap ErrFormat", err)
			}
			return
		}
		if got := s.Marshal(); !bytes.Equal(got, data) {
			t.Fatalf("decoded blob re-encodes differently")
		}
	})
}

func BenchmarkAdd(b *testing.B) {
	bl := NewBuilder("input_hash")
	v := fmt.Sprintf("%064x", 12345)
	for b.Loop() {
		bl.Add("input_hash", v)
	}
}

func BenchmarkMayContain(b *testing.B) {
	bl := NewBuilder()
	for i := range 100_000 {
		bl.Add("k", fmt.Sprint(i))
	}
	s := bl.Set()
	for b.Loop() {
		s.MayContain("k", "absent")
	}
}
