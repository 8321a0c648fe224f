package report_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/cryptotest"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/evidence"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/report"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/store/filestore"
	"github.com/complyhq/comply/subjectkey"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// fixture is how a test store is written.
type fixture struct {
	down     [2]int // hours [from, to) without entries nor checkpoints
	noUsers  bool   // entries carry no user_id
	tamper   bool   // a line is edited after the writer closed
	retained int    // configured retention days (0: default)
	reviewed bool   // a review of the previous report is attested at 09:20
	born     int    // the hour the system starts: nothing before it
	erased   bool   // a subject is erased under a legal hold at 08:15, an entry deleted on request
	policies bool   // a policy is recorded at 00:00, another at 12:00; level none counted 7 interactions
	rewrap   bool   // every entry is rewrapped the next day (a signed rewrite record)
}

// build writes a store of one day, 2026-03-01: two entries an hour (one
// failure at 12:10, flagged serious), a checkpoint at half past and on
// the hour, with a one-hour heartbeat; it returns the report of that day.
func build(t *testing.T, fx fixture) *report.Report {
	t.Helper()
	dir := t.TempDir()
	var mu sync.Mutex
	at := t0.Add(time.Duration(fx.born) * time.Hour) // the writer opens
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	set := func(d time.Duration) { mu.Lock(); at = t0.Add(d); mu.Unlock() }
	skey, _, err := ledger.GenerateKey("report")
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ledger.NewSigner(skey)
	if err != nil {
		t.Fatal(err)
	}
	st, err := filestore.Open(t.Context(), dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := comply.NewWithIntegrity(t.Context(), st, &comply.Options{Now: clock},
		&comply.IntegrityOptions{Signer: signer, Origin: "comply/test/report", Now: clock, Heartbeat: time.Hour, CheckpointInterval: 24 * time.Hour, CheckpointEvery: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	checkpoint := func(d time.Duration) {
		set(d)
		if _, err := l.Ledger().Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	for h := range 24 {
		if h >= fx.down[0] && h < fx.down[1] || h < fx.born {
			continue
		}
		hour := time.Duration(h) * time.Hour
		set(hour + 10*time.Minute)
		md := map[string]any{"user_id": "u1", "session_id": "s1"}
		if fx.noUsers {
			md = map[string]any{"app": "x"}
		}
		in := []comply.Interaction{{Input: "a", Output: "b", Metadata: md}, {Input: "c", Output: "d", Metadata: md}}
		if h == 12 {
			in[1].SafetyFailed, in[1].DetectorsTriggered, in[1].BlockReason = true, []string{"pii"}, "pii leak"
			in[1].Metadata = map[string]any{"user_id": "u1", "session_id": "s1", "severity": "serious"}
		}
		if _, err := l.LogBatch(t.Context(), in...); err != nil {
			t.Fatal(err)
		}
		records(t, l, st, fx, h)
		if fx.reviewed && h == 9 {
			set(hour + 20*time.Minute)
			a, err := evidence.NewAttestation([]byte(`{"version": 1}`), "dpo", "checked")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := evidence.Attest(t.Context(), l, a); err != nil {
				t.Fatal(err)
			}
		}
		checkpoint(hour + 30*time.Minute)
		checkpoint(hour + time.Hour)
	}
	if fx.rewrap {
		set(24*time.Hour + 5*time.Minute)
		rw := func(rec store.Record) ([]byte, bool, error) {
			return bytes.Replace(rec.Line, []byte(`"model": null`), []byte(`"model": "v2"`), 1), true, nil
		}
		if n, err := l.Ledger().Rewrite(t.Context(), "audit_20260301.jsonl", "key rotation", rw); err != nil || n != 48 {
			t.Fatalf("Rewrite = %d, %v", n, err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if fx.tamper {
		names, _ := filepath.Glob(filepath.Join(dir, "audit_*.jsonl"))
		if len(names) == 0 {
			t.Fatal("no day file")
		}
		b, err := os.ReadFile(names[0])
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte(`"model": null`), []byte(`"model": "forged"`), 1)
		if err := os.WriteFile(names[0], b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ro, err := filestore.Open(t.Context(), dir, &filestore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	rl, err := comply.New(ro, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rl.Close() })
	r, err := report.Build(t.Context(), report.Inputs{
		Logger:     rl,
		Verifiers:  []note.Verifier{signer.Verifier()},
		Config:     report.Config{RetentionDays: fx.retained},
		Period:     report.Period{Start: t0, End: t0.Add(24*time.Hour - time.Nanosecond)},
		SampleSize: 3,
		Seed:       7,
		Now:        func() time.Time { return t0.Add(25 * time.Hour) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The policies of the fixture: the second counts "health" only.
var (
	policyA = `{"default":{"level":"hash"},"rules":[{"name":"support","match":{"route":"support/*"},"level":"keyed-hash"}]}`
	policyB = `{"default":{"level":"hash"},"rules":[{"name":"health","match":{"route":"health/*"},"level":"none"}]}`
)

// records writes the fixture's signed records of hour h: erasures,
// deletions on request, policies and counts.
func records(t *testing.T, l *comply.Logger, st *filestore.Store, fx fixture, h int) {
	t.Helper()
	ctx := t.Context()
	at := t0.Add(time.Duration(h) * time.Hour)
	switch {
	case fx.erased && h == 8:
		e := &ledger.Erasure{Subject: "user_id", HMAC: "hmac-sha256:9f2c", KeyID: "dk-1", Time: at.Add(15 * time.Minute), LegalHold: true, Reason: "GDPR request #42"}
		if err := l.Ledger().RecordErasure(ctx, e); err != nil {
			t.Fatal(err)
		}
		ids, err := idsAt(t, l, at)
		if err != nil || len(ids) == 0 {
			t.Fatalf("entries of %v: %v, %v", at, ids, err)
		}
		if err := l.Delete(ctx, ids[0]); err != nil {
			t.Fatal(err)
		}
	case fx.policies && (h == 0 || h == 12):
		text := policyA
		if h == 12 {
			text = policyB
		}
		if _, err := l.Ledger().RecordPolicy(ctx, text); err != nil {
			t.Fatal(err)
		}
	case fx.policies && h == 14:
		c := policy.NewCounter(st)
		for _, n := range []struct {
			at   time.Time
			rule string
			n    int64
		}{{at, "health", 5}, {at.Add(time.Hour), "health", 2}, {t0.Add(-2 * time.Hour), "health", 100}} {
			if err := c.Add(ctx, n.at, n.rule, n.n); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// idsAt returns the ids of the entries of the hour at.
func idsAt(t *testing.T, l *comply.Logger, at time.Time) ([]string, error) {
	var ids []string
	for e, err := range l.Entries(t.Context(), at, at.Add(time.Hour-time.Nanosecond)) {
		if err != nil {
			return nil, err
		}
		ids = append(ids, e.ID)
	}
	return ids, nil
}

func statuses(r *report.Report) map[string]string {
	m := map[string]string{}
	for _, c := range r.Controls {
		m[c.ID] = c.Status
	}
	return m
}

// TestControls asserts every control's status, framework by framework, on
// each fixture store.
func TestControls(t *testing.T) {
	healthy := map[string]string{
		"eu-ai-act/recording": "pass", "eu-ai-act/integrity": "pass", "eu-ai-act/traceability": "pass",
		"eu-ai-act/retention-provider": "not_evidenced", "eu-ai-act/retention-deployer": "not_evidenced", "eu-ai-act/incidents": "manual",
		"soc2/access": "not_evidenced", "soc2/monitoring": "pass", "soc2/integrity": "pass", "soc2/evaluation": "manual", "soc2/population": "pass",
		"hipaa/audit-controls": "pass", "hipaa/integrity": "pass", "hipaa/activity-review": "manual", "hipaa/retention": "fail",
		"iso42001/event-logs": "pass", "iso42001/log-integrity": "pass", "iso42001/traceability": "pass", "iso42001/monitoring": "pass",
		"gdpr/minimisation": "fail", "gdpr/storage-limitation": "pass", "gdpr/erasure": "manual",
	}
	with := func(changes map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range healthy {
			m[k] = v
		}
		for k, v := range changes {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name string
		fx   fixture
		want map[string]string
	}{
		{"healthy", fixture{}, healthy},
		{"silent gap", fixture{down: [2]int{5, 10}}, with(map[string]string{
			"eu-ai-act/recording": "fail", "soc2/monitoring": "fail", "hipaa/audit-controls": "fail", "iso42001/event-logs": "fail"})},
		{"tampered", fixture{tamper: true}, with(map[string]string{
			"eu-ai-act/integrity": "fail", "soc2/integrity": "fail", "hipaa/integrity": "fail", "iso42001/log-integrity": "fail"})},
		{"30-day retention", fixture{retained: 30}, with(map[string]string{
			"eu-ai-act/retention-provider": "fail", "eu-ai-act/retention-deployer": "fail"})},
		// The attestation entry is a review, not the system's activity:
		// nothing else changes.
		{"reviewed", fixture{reviewed: true}, with(map[string]string{"hipaa/activity-review": "pass"})},
		{"no user ids", fixture{noUsers: true}, with(map[string]string{
			"eu-ai-act/traceability": "fail", "iso42001/traceability": "fail"})},
		// Logging began at 06:00: the hours before are no gap.
		{"young store", fixture{born: 6}, healthy},
		// ... but a silent gap after the start still is.
		{"young store, silent gap", fixture{born: 6, down: [2]int{14, 16}}, with(map[string]string{
			"eu-ai-act/recording": "fail", "soc2/monitoring": "fail", "hipaa/audit-controls": "fail", "iso42001/event-logs": "fail"})},
		// A signed erasure under a legal hold and a deletion on request,
		// and the ledger verifies: Art. 17 passes.
		{"erased", fixture{erased: true}, with(map[string]string{"gdpr/erasure": "pass"})},
		// Policies and counted-only interactions change no status: the
		// hashes are still plain.
		{"policy change", fixture{policies: true}, healthy},
		// A rewrapped entry is not tampering.
		{"rewrapped", fixture{rewrap: true}, healthy},
		// Erased, but a line was then edited: the erasure's evidence fails
		// with the ledger.
		{"erased, tampered", fixture{erased: true, tamper: true}, with(map[string]string{
			"eu-ai-act/integrity": "fail", "soc2/integrity": "fail", "hipaa/integrity": "fail", "iso42001/log-integrity": "fail",
			"gdpr/erasure": "fail"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := build(t, tt.fx)
			got := statuses(r)
			if len(got) != len(tt.want) {
				t.Errorf("%d controls, want %d", len(got), len(tt.want))
			}
			for id, w := range tt.want {
				if got[id] != w {
					c := control(r, id)
					t.Errorf("%s: %s, want %s (figures %v; next %q)", id, got[id], w, c.Figures, c.Next)
				}
			}
		})
	}
}

func control(r *report.Report, id string) report.Control {
	for _, c := range r.Controls {
		if c.ID == id {
			return c
		}
	}
	return report.Control{}
}

// TestEvidence checks the figures behind the statuses on the healthy
// store and the silent gap, and that the JSON carries version 1.
func TestEvidence(t *testing.T) {
	r := build(t, fixture{down: [2]int{5, 10}})
	if r.Population.Entries != 38 || r.Population.Checkpoint == nil || r.Population.Checkpoint.Size != 38 {
		t.Errorf("population %+v", r.Population)
	}
	if c := r.Coverage; c.Hours != 24 || c.HoursWithEntry != 19 || c.SilentHours != 5 || len(c.Gaps) != 1 {
		t.Errorf("coverage %+v", c)
	}
	if s := r.Safety; s.Failures != 1 || len(s.ByReason) != 1 || s.ByReason[0].Name != "pii leak" || len(s.NewDetectors) != 1 {
		t.Errorf("safety %+v", s)
	}
	if c := r.Incidents.Candidates; len(c) != 1 || !c[0].Due15.Equal(c[0].Time.AddDate(0, 0, 15)) {
		t.Errorf("incidents %+v", c)
	}
	if s := r.Sample; len(s.Items) != 3 || s.Proved != 3 {
		t.Errorf("sample %+v", s)
	}
	again := build(t, fixture{down: [2]int{5, 10}})
	var ids, ids2 []string
	for i := range r.Sample.Items {
		ids, ids2 = append(ids, r.Sample.Items[i].Time.Format(time.RFC3339)), append(ids2, again.Sample.Items[i].Time.Format(time.RFC3339))
	}
	if !equal(ids, ids2) {
		t.Errorf("the sample is not deterministic: %v, then %v", ids, ids2)
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var v struct{ Version int }
	if err := json.Unmarshal(buf.Bytes(), &v); err != nil || v.Version != 1 {
		t.Errorf("version %d, %v", v.Version, err)
	}
}

// TestYoungStore: on a store younger than the period, coverage counts
// from the hour logging began and says when.
func TestYoungStore(t *testing.T) {
	tests := []struct {
		name          string
		fx            fixture
		hours, silent int
		began         time.Time
	}{
		{"born at 06:00", fixture{born: 6}, 18, 0, t0.Add(6 * time.Hour)},
		{"born at 06:00, down 14-16", fixture{born: 6, down: [2]int{14, 16}}, 18, 2, t0.Add(6 * time.Hour)},
		{"as old as the period", fixture{}, 24, 0, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := build(t, tt.fx)
			c := r.Coverage
			if c.Hours != tt.hours || c.SilentHours != tt.silent || c.UnknownHours != 0 || !c.Began.Equal(tt.began) {
				t.Errorf("coverage %+v, want %d hours, %d silent, began %v", c, tt.hours, tt.silent, tt.began)
			}
			if got, ok := control(r, "eu-ai-act/recording").Figures["logging_began"]; ok != !tt.began.IsZero() || ok && !got.(time.Time).Equal(tt.began) {
				t.Errorf("figure logging_began %v, want %v", got, tt.began)
			}
		})
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestRender: the Markdown and HTML forms hold every control, and the
// HTML loads nothing and runs nothing.
func TestRender(t *testing.T) {
	r := build(t, fixture{tamper: true})
	tests := []struct {
		name  string
		write func(*bytes.Buffer, *report.Report) error
		must  []string
		never []string
	}{
		{"markdown", func(b *bytes.Buffer, r *report.Report) error { return report.WriteMarkdown(b, r) }, []string{"| eu-ai-act | Art. 12(1) |", "**fail**"}, nil},
		{"html", func(b *bytes.Buffer, r *report.Report) error { return report.WriteHTML(b, r) }, []string{"<style>", `class="fail"`}, []string{"<script", "src=", "href="}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tt.write(&b, r); err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.must {
				if !bytes.Contains(b.Bytes(), []byte(s)) {
					t.Errorf("no %q in\n%s", s, b.String())
				}
			}
			for _, s := range tt.never {
				if bytes.Contains(b.Bytes(), []byte(s)) {
					t.Errorf("%q in the page", s)
				}
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite the golden reports in testdata/golden")

// TestGolden compares the JSON report of each fixture store with
// testdata/golden/<name>.json (go test ./report -run TestGolden -update
// rewrites them). Nothing is masked: the fixture is deterministic, its
// clock fixed, its origin named (not the host's) and crypto/rand seeded
// (testing/cryptotest), so the signing key, the entry ids, and so the
// roots, signatures and proofs are the same on every run and machine. A
// new Go release may draw its randomness otherwise (cryptotest's caveat):
// then the ids and hashes change and -update rewrites the files.
func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		fx   fixture
	}{
		{"healthy", fixture{}},
		{"silent-gap", fixture{down: [2]int{5, 10}}},
		{"tampered", fixture{tamper: true}},
		{"retention-30-days", fixture{retained: 30}},
		{"reviewed", fixture{reviewed: true}},
		{"no-user-ids", fixture{noUsers: true}},
		{"erased", fixture{erased: true}},
		{"policy-change", fixture{policies: true}},
		{"rewrapped", fixture{rewrap: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cryptotest.SetGlobalRandom(t, 42)
			var got bytes.Buffer
			if err := report.WriteJSON(&got, build(t, tt.fx)); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", "golden", tt.name+".json")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, got.Bytes(), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to write it)", err)
			}
			if !bytes.Equal(got.Bytes(), want) {
				t.Errorf("the report differs from %s (-update rewrites it after review):\n%s", path, firstDiff(got.String(), string(want)))
			}
		})
	}
}

// firstDiff returns the first differing line of got and want, numbered.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return fmt.Sprintf("line %d:\n got  %s\n want %s", i+1, gl, wl)
		}
	}
	return ""
}

// TestRecords checks the figures the signed records give: erasures and
// deletions on request, the policies in force and what they only counted,
// and rewraps.
func TestRecords(t *testing.T) {
	tests := []struct {
		name  string
		fx    fixture
		check func(t *testing.T, r *report.Report)
	}{
		{"erased under a legal hold", fixture{erased: true}, func(t *testing.T, r *report.Report) {
			er := r.Erasures
			if !er.Read || len(er.Erasures) != 1 || er.LegalHolds != 1 || er.RequestDeletions != 1 || er.Unsigned != 0 {
				t.Fatalf("erasures %+v", er)
			}
			e := er.Erasures[0]
			if !e.Signed || !e.LegalHold || e.HMAC != "hmac-sha256:9f2c" || e.Subject != "user_id" || !e.Time.Equal(t0.Add(8*time.Hour+15*time.Minute)) {
				t.Errorf("erasure %+v", e)
			}
			c := control(r, "gdpr/erasure")
			if c.Figures["art_17_3"] != true || !strings.Contains(c.Next, "Art. 17(3)") || c.Figures["request_deletions"] != int64(1) {
				t.Errorf("gdpr/erasure figures %v, next %q", c.Figures, c.Next)
			}
			if r.Population.Entries != 47 || r.Retention.DeletedPolicy != 1 {
				t.Errorf("population %d, deleted by policy %d", r.Population.Entries, r.Retention.DeletedPolicy)
			}
		}},
		{"no erasure", fixture{}, func(t *testing.T, r *report.Report) {
			if c := control(r, "gdpr/erasure"); c.Next != "No erasure requested in the period: manual — check the request log." {
				t.Errorf("gdpr/erasure next %q", c.Next)
			}
		}},
		{"policy change", fixture{policies: true}, func(t *testing.T, r *report.Report) {
			pol := r.Policy
			if !pol.Read || len(pol.Periods) != 2 {
				t.Fatalf("policy %+v", pol)
			}
			a, b := pol.Periods[0], pol.Periods[1]
			if !a.From.Equal(t0.Add(10*time.Minute)) || !a.To.Equal(t0.Add(12*time.Hour+10*time.Minute)) || !b.To.Equal(r.Period.End) {
				t.Errorf("periods %+v", pol.Periods)
			}
			if len(b.Rules) != 2 || b.Rules[0] != (report.PolicyRule{Name: "health", Level: "none"}) || b.Rules[1].Name != "default" || !b.Policy {
				t.Errorf("rules of the second policy %+v", b.Rules)
			}
			if len(pol.CountedOnly) != 1 || pol.CountedOnly[0] != (report.Count{Name: "health", Entries: 7}) || r.Population.CountedOnly != 7 {
				t.Errorf("counted only %+v, population %d", pol.CountedOnly, r.Population.CountedOnly)
			}
			c := control(r, "gdpr/minimisation")
			if c.Figures["counted_only"] != int64(7) || !equal(c.Figures["policy_levels"].([]string), []string{"hash", "keyed-hash", "none"}) {
				t.Errorf("gdpr/minimisation figures %v", c.Figures)
			}
			if c := control(r, "eu-ai-act/recording"); c.Figures["counted_only"] != int64(7) {
				t.Errorf("eu-ai-act/recording figures %v", c.Figures)
			}
		}},
		{"rewrapped", fixture{rewrap: true}, func(t *testing.T, r *report.Report) {
			g := r.Integrity
			if !g.OK || g.Rewrapped != 48 || len(g.Rewrites) != 1 || g.Rewrites[0].Reason != "key rotation" || g.Rewrites[0].Count != 48 {
				t.Fatalf("integrity %+v", g)
			}
			if c := control(r, "soc2/integrity"); c.Figures["rewrapped"] != int64(48) || !strings.Contains(c.Next, "not tampering") {
				t.Errorf("soc2/integrity figures %v, next %q", c.Figures, c.Next)
			}
			// The sampled entries are rewrapped: each proof carries the
			// rewrite record, and verifies.
			if r.Sample.Proved != 3 {
				t.Fatalf("sample %+v", r.Sample)
			}
			for _, it := range r.Sample.Items {
				p, err := ledger.ParseProof(it.Proof)
				if err != nil {
					t.Fatal(err)
				}
				if len(p.Rewrites) != 1 {
					t.Errorf("the proof of %s carries %d rewrite records, want 1", it.ID, len(p.Rewrites))
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := build(t, tt.fx)
			tt.check(t, r)
			var md, page bytes.Buffer
			if err := report.WriteMarkdown(&md, r); err != nil {
				t.Fatal(err)
			}
			if err := report.WriteHTML(&page, r); err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{"Erasures (GDPR Art. 17)", "Policies:", "counted only"} {
				if !strings.Contains(md.String(), s) || !strings.Contains(page.String(), s) {
					t.Errorf("no %q in the Markdown or HTML", s)
				}
			}
		})
	}
}

// TestErasureTombstones: an erasure whose tombstone has no signed record
// is listed (signed false), and the control says it is not evidenced:
// without a ledger, or with one the erasure did not reach.
func TestErasureTombstones(t *testing.T) {
	tests := []struct {
		name   string
		ledger bool
		want   string
		next   string // in the control's next
	}{
		{"no ledger", false, "not_evidenced", "without a ledger"},
		{"ledger, unsigned tombstone", true, "not_evidenced", "did not finish"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			st, err := filestore.Open(t.Context(), dir, nil)
			if err != nil {
				t.Fatal(err)
			}
			clock := func() time.Time { return t0.Add(9 * time.Hour) }
			var vs []note.Verifier
			var l *comply.Logger
			if tt.ledger {
				signer, err := ledger.NewSigner(mustKey(t))
				if err != nil {
					t.Fatal(err)
				}
				vs = []note.Verifier{signer.Verifier()}
				l, err = comply.NewWithIntegrity(t.Context(), st, &comply.Options{Now: clock}, &comply.IntegrityOptions{Signer: signer, Origin: "comply/test/tomb", Now: clock})
				if err != nil {
					t.Fatal(err)
				}
			} else if l, err = comply.New(st, &comply.Options{Now: clock}); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Log(t.Context(), comply.Interaction{Input: "a", Output: "b"}); err != nil {
				t.Fatal(err)
			}
			k, err := seal.GenerateKey()
			if err != nil {
				t.Fatal(err)
			}
			v, err := subjectkey.New(st, subjectkey.Options{Subject: "user_id", Keyring: seal.NewKeyring(k), Now: clock})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := v.Seal(t.Context(), "u-123", []byte("content")); err != nil {
				t.Fatal(err)
			}
			if _, err := v.Erase(t.Context(), "u-123", "request #9", false, nil); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { l.Close() })
			r, err := report.Build(t.Context(), report.Inputs{Logger: l, Verifiers: vs, Frameworks: []string{report.GDPR},
				Period: report.Period{Start: t0, End: t0.Add(24*time.Hour - time.Nanosecond)}, Now: func() time.Time { return t0.Add(25 * time.Hour) }})
			if err != nil {
				t.Fatal(err)
			}
			er := r.Erasures
			if len(er.Erasures) != 1 || er.Unsigned != 1 || er.Erasures[0].Signed || er.Erasures[0].Subject != "user_id" {
				t.Fatalf("erasures %+v", er)
			}
			b, err := json.Marshal(er)
			if err != nil || bytes.Contains(b, []byte("u-123")) {
				t.Errorf("the subject's value in the report: %s %v", b, err)
			}
			if c := control(r, "gdpr/erasure"); c.Status != tt.want || !strings.Contains(c.Next, tt.next) {
				t.Errorf("gdpr/erasure %s, want %s (next %q)", c.Status, tt.want, c.Next)
			}
		})
	}
}

func mustKey(t *testing.T) string {
	t.Helper()
	skey, _, err := ledger.GenerateKey("tomb")
	if err != nil {
		t.Fatal(err)
	}
	return skey
}
