package skipfilter

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
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
	b.Entry()
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

// goldenSet is the Set of testdata/v1.golden.
func goldenSet() *Set {
	b := NewBuilder("conversation_id", "input_hash", "output_hash", "metadata.user_id", "metadata.session_id")
	for i := range 40 {
		b.Entry()
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
	path := filepath.Join("testdata", "v1.golden")
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
	good, err := os.ReadFile(filepath.Join("testdata", "v1.golden"))
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
