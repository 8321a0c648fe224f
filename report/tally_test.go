package report_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/evidence"
	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/report"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store/filestore"
)

// writeMixed writes, through four writers (plain hashes, keyed hashes,
// stored content, and a policy of level metadata: no hashes), entries over three days from t0: most in time order,
// a third backfilled to a random earlier time; with and without user and
// session ids, some failures (some serious, some with a detector or block
// reason of the serious list), one entry passed with a block reason, and
// two review attestations. It returns the store's directory.
func writeMixed(t *testing.T, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	key, err := seal.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	now := t0.Add(100 * 24 * time.Hour)
	metadataOnly, err := policy.Parse([]byte("default: {level: metadata}"))
	if err != nil {
		t.Fatal(err)
	}
	writers := []*comply.Options{{Now: func() time.Time { return now }}, {HashKey: []byte("a test hash key, 32 bytes long..")},
		{StoreContent: true, Keyring: seal.NewKeyring(key)}, {Policy: metadataOnly}}
	metas := []map[string]any{
		nil, {"user_id": "u1"}, {"user_id": "u2", "session_id": "s"}, {"user_id": " "}, {"user_id": nil, "session_id": "s"},
		{"user_id": 7, "session_id": 8}, {"severity": "Serious", "user_id": "u3"}, {"severity": "low"},
	}
	span := 3 * 24 * time.Hour
	for w, opts := range writers {
		st, err := filestore.Open(t.Context(), dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		l, err := comply.New(st, opts)
		if err != nil {
			t.Fatal(err)
		}
		for i := range 400 {
			at := t0.Add(span * time.Duration(w*400+i) / time.Duration(400*len(writers)))
			if rng.IntN(3) == 0 {
				at = t0.Add(time.Duration(rng.Int64N(int64(span))))
			}
			in := comply.Interaction{Input: "in", Output: "out", Time: at, Provider: "p", Model: []string{"a", "b"}[rng.IntN(2)], Metadata: metas[rng.IntN(len(metas))]}
			switch rng.IntN(10) {
			case 0:
				in.SafetyFailed, in.DetectorsTriggered, in.BlockReason = true, []string{"pii"}, "leak"
			case 1:
				in.SafetyFailed, in.DetectorsTriggered = true, []string{"toxicity", "pii"}
			case 2:
				in.SafetyFailed, in.BlockReason = true, "policy"
			case 3:
				in.BlockReason = "warned" // passed, with a reason
			}
			if _, err := l.Log(t.Context(), in); err != nil {
				t.Fatal(err)
			}
		}
		if w == 0 {
			for _, h := range []time.Duration{5 * time.Hour, 30 * time.Hour} {
				a, err := evidence.NewAttestation([]byte(`{"version": 1}`), "dpo", "ok")
				if err != nil {
					t.Fatal(err)
				}
				now = t0.Add(h)
				if _, err := evidence.Attest(t.Context(), l, a); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if w == 1 {
			// The rollups of the first two writers' files are persisted
			// (the third's appends make them stale): the report reads
			// blobs, and rollups rebuilt from the files.
			persistRollups(t, dir)
		}
	}
	return dir
}

// scanned is what a full scan of the period gives, computed as report
// Build did before it read the rollups.
type scanned struct {
	pop         report.Population
	attribution report.Attribution
	failures    int64
	byDetector  map[string]int64
	byReason    map[string]int64
	candidates  []string
	ids         map[string]bool
	reviews     int
}

func fullScan(t *testing.T, l *comply.Logger, p report.Period, serious []string) scanned {
	t.Helper()
	s := scanned{byDetector: map[string]int64{}, byReason: map[string]int64{}, ids: map[string]bool{}}
	a := &s.attribution
	for e, err := range l.Entries(t.Context(), p.Start, p.End) {
		if err != nil {
			t.Fatal(err)
		}
		if e.Provider == evidence.AttestationProvider && e.Model == evidence.AttestationModel {
			s.reviews++
			continue
		}
		s.ids[e.ID] = true
		s.pop.Entries++
		if s.pop.First.IsZero() || e.Timestamp.Before(s.pop.First) {
			s.pop.First = e.Timestamp
		}
		if e.Timestamp.After(s.pop.Last) {
			s.pop.Last = e.Timestamp
		}
		var md struct {
			User, Session any
			Severity      string
		}
		if err := json.Unmarshal(e.Metadata, &struct {
			User     *any    `json:"user_id"`
			Session  *any    `json:"session_id"`
			Severity *string `json:"severity"`
		}{&md.User, &md.Session, &md.Severity}); err != nil {
			t.Fatal(err)
		}
		named := func(v any) bool { s, ok := v.(string); return v != nil && (!ok || strings.TrimSpace(s) != "") }
		a.Entries++
		if named(md.User) {
			a.WithUser++
			if named(md.Session) {
				a.WithBoth++
			}
		}
		if e.InputContent == "" && e.OutputContent == "" {
			a.HashOnly++
		}
		switch {
		case e.InputHash == "" && e.OutputHash == "":
			a.Unhashed++
		case strings.HasPrefix(e.InputHash, comply.HMACPrefix):
			a.KeyedHashes++
		default:
			a.PlainHashes++
		}
		for _, d := range e.DetectorsTriggered {
			s.byDetector[d]++
		}
		if !e.SafetyPassed {
			s.failures++
			if e.BlockReason != "" {
				s.byReason[e.BlockReason]++
			}
			if strings.EqualFold(md.Severity, "serious") || slices.Contains(serious, e.BlockReason) || slices.ContainsFunc(e.DetectorsTriggered, func(d string) bool { return slices.Contains(serious, d) }) {
				s.candidates = append(s.candidates, e.ID)
			}
		}
	}
	return s
}

func countMap(cs []report.Count) map[string]int64 {
	m := map[string]int64{}
	for _, c := range cs {
		m[c.Name] = c.Entries
	}
	return m
}

// TestRollupFiguresEqualFullScan: on a generated store (backfilled and
// in-order entries, some with user ids, some keyed, some with content),
// the figures Build reads from the rollups equal a full scan of the
// period, whole or cut mid-hour; the sample is deterministic, distinct,
// of the period and never an attestation.
func TestRollupFiguresEqualFullScan(t *testing.T) {
	dir := writeMixed(t, 3)
	ro, err := filestore.Open(t.Context(), dir, &filestore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	l, err := comply.New(ro, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	serious := []string{"toxicity", "policy"}
	tests := []struct {
		name   string
		period report.Period
		sample int
		seed   uint64
	}{
		{"whole", report.Period{Start: t0.Add(-time.Hour), End: t0.Add(80 * time.Hour)}, 25, 1},
		{"cut mid-hour", report.Period{Start: t0.Add(90*time.Minute + 17*time.Second), End: t0.Add(53*time.Hour + 31*time.Minute)}, 40, 9},
		{"one hour", report.Period{Start: t0.Add(30 * time.Hour), End: t0.Add(31*time.Hour - time.Nanosecond)}, 5, 2},
		{"sample all", report.Period{Start: t0.Add(30*time.Hour + 10*time.Minute), End: t0.Add(30*time.Hour + 40*time.Minute)}, 1000, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			build := func(seed uint64) *report.Report {
				r, err := report.Build(t.Context(), report.Inputs{Logger: l, Period: tt.period, SampleSize: tt.sample, Seed: seed, Serious: serious,
					Now: func() time.Time { return t0.Add(100 * 24 * time.Hour) }})
				if err != nil {
					t.Fatal(err)
				}
				return r
			}
			r := build(tt.seed)
			want := fullScan(t, l, tt.period, serious)
			if want.pop.Entries == 0 {
				t.Fatal("no entries in the period: the test proves nothing")
			}
			p := r.Population
			if p.Entries != want.pop.Entries || !p.First.Equal(want.pop.First) || !p.Last.Equal(want.pop.Last) {
				t.Errorf("population %d %v %v, scan %d %v %v", p.Entries, p.First, p.Last, want.pop.Entries, want.pop.First, want.pop.Last)
			}
			a := r.Attribution
			a.UserShare, a.BothShare, a.HashOnlyShare = 0, 0, 0
			if a != want.attribution {
				t.Errorf("attribution %+v, scan %+v", a, want.attribution)
			}
			if tt.name == "whole" && (want.reviews == 0 || len(want.candidates) == 0 || len(want.byReason) < 2) {
				t.Errorf("the store lacks reviews, candidates or reasons: %d, %v, %v", want.reviews, want.candidates, want.byReason)
			}
			if a.KeyedHashes == 0 || a.HashOnly == a.Entries || a.WithUser == 0 {
				t.Errorf("the store lacks a kind of entry: %+v", a)
			}
			if r.Safety.Failures != want.failures || !equalMaps(countMap(r.Safety.ByDetector), want.byDetector) || !equalMaps(countMap(r.Safety.ByReason), want.byReason) {
				t.Errorf("safety %d %v %v, scan %d %v %v", r.Safety.Failures, r.Safety.ByDetector, r.Safety.ByReason, want.failures, want.byDetector, want.byReason)
			}
			var got []string
			for _, c := range r.Incidents.Candidates {
				got = append(got, c.ID)
			}
			slices.Sort(got)
			slices.Sort(want.candidates)
			if !slices.Equal(got, want.candidates) {
				t.Errorf("candidates %v, scan %v", got, want.candidates)
			}
			if len(r.Reviews) != want.reviews {
				t.Errorf("%d reviews, scan %d", len(r.Reviews), want.reviews)
			}
			if n := min(int64(tt.sample), want.pop.Entries); int64(len(r.Sample.Items)) != n {
				t.Errorf("%d sampled, want %d", len(r.Sample.Items), n)
			}
			seen := map[string]bool{}
			for _, it := range r.Sample.Items {
				if !want.ids[it.ID] || seen[it.ID] {
					t.Errorf("sampled %s: not of the period, an attestation, or twice", it.ID)
				}
				seen[it.ID] = true
			}
			if again := build(tt.seed); !slices.EqualFunc(again.Sample.Items, r.Sample.Items, func(a, b report.SampleItem) bool { return a.ID == b.ID }) {
				t.Error("the same seed drew another sample")
			}
		})
	}
}

func equalMaps(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestSampleUniform: over many seeds, every entry of a period is drawn
// about as often as the others, whatever hour it is in (the hours hold
// 1 to 200 entries).
func TestSampleUniform(t *testing.T) {
	dir := t.TempDir()
	st, err := filestore.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := comply.New(st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var n int
	for h, per := range []int{1, 200, 3, 50} {
		for i := range per {
			at := t0.Add(time.Duration(h)*time.Hour + time.Duration(i)*time.Second)
			if _, err := l.Log(t.Context(), comply.Interaction{Input: "x", Time: at}); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	hits := map[time.Time]int{}
	const runs, size = 400, 10
	for seed := range uint64(runs) {
		r, err := report.Build(context.Background(), report.Inputs{Logger: l, Period: report.Period{Start: t0, End: t0.Add(4 * time.Hour)}, SampleSize: size, Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range r.Sample.Items {
			hits[it.Time.Truncate(time.Hour)]++
		}
	}
	for h, per := range []int{1, 200, 3, 50} {
		got := float64(hits[t0.Add(time.Duration(h)*time.Hour)])
		want := float64(runs*size*per) / float64(n)
		if got < want*0.7-5 || got > want*1.3+5 {
			t.Errorf("hour %d (%d entries): drawn %v times, want about %v", h, per, got, want)
		}
	}
}
