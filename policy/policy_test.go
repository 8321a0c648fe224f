package policy_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/store/memstore"
)

const teams = `
default:
  level: hash
  require: [user_id]
rules:
  - name: support
    match: {route: "proxy/*", metadata: {team: support}}
    level: metadata
  - name: legal
    match: {metadata: {team: legal}}
    level: encrypted
    max_content_bytes: 65536
    require: [user_id, session_id]
    missing: reject
  - name: gpt4
    match: {provider: openai, model: "gpt-4*"}
    level: keyed-hash
  - name: health
    match: {route: otlp}
    level: none
`

func md(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDecide(t *testing.T) {
	p, err := policy.Parse([]byte(teams))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		in        policy.Input
		rule      string
		level     policy.Level
		missing   string
		onMissing policy.OnMissing
		max       int
	}{
		{"default", policy.Input{Provider: "anthropic", Metadata: md("user_id", "u")}, "default", policy.Hash, "", policy.Flag, 0},
		{"default, missing key", policy.Input{Provider: "anthropic"}, "default", policy.Hash, "user_id", policy.Flag, 0},
		{"route glob and metadata", policy.Input{Route: "proxy/openai", Metadata: md("team", "support", "user_id", "u")}, "support", policy.Metadata, "", policy.Flag, 0},
		{"route glob without metadata", policy.Input{Route: "proxy/openai", Metadata: md("team", "sales")}, "default", policy.Hash, "user_id", policy.Flag, 0},
		{"first match wins", policy.Input{Route: "proxy/openai", Provider: "openai", Model: "gpt-4o", Metadata: md("team", "support")}, "support", policy.Metadata, "user_id", policy.Flag, 0},
		{"rule's own require", policy.Input{Metadata: md("team", "legal", "user_id", "u")}, "legal", policy.Encrypted, "session_id", policy.Reject, 65536},
		{"provider and model glob", policy.Input{Provider: "openai", Model: "gpt-4-turbo"}, "gpt4", policy.KeyedHash, "user_id", policy.Flag, 0},
		{"model glob misses", policy.Input{Provider: "openai", Model: "o1"}, "default", policy.Hash, "user_id", policy.Flag, 0},
		{"route exact", policy.Input{Route: "otlp"}, "health", policy.None, "user_id", policy.Flag, 0},
		{"route is a whole match", policy.Input{Route: "otlp/x"}, "default", policy.Hash, "user_id", policy.Flag, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := p.Decide(tt.in)
			if d.Rule != tt.rule || d.Level != tt.level || strings.Join(d.MissingKeys, ",") != tt.missing || d.Missing != tt.onMissing || d.MaxContentBytes != tt.max {
				t.Errorf("Decide = %+v; want rule %s level %s missing %q (%s) max %d", d, tt.rule, tt.level, tt.missing, tt.onMissing, tt.max)
			}
		})
	}
	var nilPolicy *policy.Policy
	if d := nilPolicy.Decide(policy.Input{}); d.Level != policy.Hash || d.Rule != policy.DefaultRule {
		t.Errorf("nil policy decides %+v, want hash", d)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown top key", "defaults: {}", "line 1: unknown key defaults"},
		{"unknown action key", "default:\n  levle: hash", "line 2: unknown key levle"},
		{"unknown match key", "rules:\n  - name: a\n    match: {modle: x}", "line 3: unknown key modle"},
		{"bad level", "default: {level: full}", `level "full"`},
		{"bad missing", "default: {missing: drop}", `missing "drop"`},
		{"negative size", "default: {max_content_bytes: -1}", "max_content_bytes -1"},
		{"no name", "rules: [{level: none}]", "rules[0]: name"},
		{"duplicate name", "rules: [{name: a}, {name: a}]", `rules[1]: name "a"`},
		{"reserved name", "rules: [{name: default}]", `name "default"`},
		{"bad glob", "rules: [{name: a, match: {model: '['}}]", "glob"},
		{"wrong type", "rules: {name: a}", "cannot unmarshal"},
		{"two documents", "default: {}\n---\ndefault: {}", "more than one"},
		{"empty require key", "default: {require: ['']}", "empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Parse([]byte(tt.yaml))
			var pe *policy.Error
			if !errors.As(err, &pe) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse = %v; want a *policy.Error containing %q", err, tt.want)
			}
		})
	}
}

func TestText(t *testing.T) {
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"spelled defaults", "default: {}", "default: {level: hash, missing: flag}", true},
		{"inherited", "default: {level: metadata}\nrules: [{name: a, match: {provider: x}}]",
			"rules: [{name: a, match: {provider: x}, level: metadata}]\ndefault: {level: metadata}", true},
		{"level differs", "default: {level: hash}", "default: {level: metadata}", false},
		{"order differs", "rules: [{name: a}, {name: b, level: none}]", "rules: [{name: b, level: none}, {name: a}]", false},
		{"metadata map order", "rules: [{name: a, match: {metadata: {x: '1', y: '2'}}}]", "rules: [{name: a, match: {metadata: {y: '2', x: '1'}}}]", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := policy.Parse([]byte(tt.a))
			if err != nil {
				t.Fatal(err)
			}
			b, err := policy.Parse([]byte(tt.b))
			if err != nil {
				t.Fatal(err)
			}
			if (a.Text() == b.Text()) != tt.same || strings.Contains(a.Text(), "\n") {
				t.Errorf("texts\n%s\n%s\nsame = %t, want %t", a.Text(), b.Text(), !tt.same, tt.same)
			}
		})
	}
}

func TestLevels(t *testing.T) {
	p, err := policy.Parse([]byte(teams))
	if err != nil {
		t.Fatal(err)
	}
	got := p.Levels()
	want := []policy.Level{policy.Hash, policy.Metadata, policy.Encrypted, policy.KeyedHash, policy.None}
	if len(got) != len(want) {
		t.Fatalf("Levels = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Levels = %v, want %v", got, want)
		}
	}
}

func TestCounter(t *testing.T) {
	ms := memstore.New(0)
	defer ms.Close()
	ctx := t.Context()
	day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	adds := []struct {
		at   time.Time
		rule string
		n    int64
	}{
		{day.Add(10*time.Hour + 5*time.Minute), "a", 1},
		{day.Add(10*time.Hour + 50*time.Minute), "a", 2},
		{day.Add(11 * time.Hour), "a", 1},
		{day.Add(10 * time.Hour), "default", 4},
		{day.Add(25 * time.Hour), "a", 7}, // the next day's blob
	}
	c := policy.NewCounter(ms)
	for _, a := range adds {
		if err := c.Add(ctx, a.at, a.rule, a.n); err != nil {
			t.Fatal(err)
		}
	}
	// A second counter over the same store goes on from the blobs.
	if err := policy.NewCounter(ms).Add(ctx, day.Add(10*time.Hour), "a", 10); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		start, end time.Time
		want       []policy.Count
	}{
		{"all", time.Time{}, time.Time{}, []policy.Count{
			{day.Add(10 * time.Hour), "a", 13}, {day.Add(10 * time.Hour), "default", 4}, {day.Add(11 * time.Hour), "a", 1}, {day.Add(25 * time.Hour), "a", 7}}},
		{"inclusive hour overlap", day.Add(11*time.Hour + 30*time.Minute), day.Add(24 * time.Hour), []policy.Count{{day.Add(11 * time.Hour), "a", 1}}},
		{"none", day.Add(48 * time.Hour), time.Time{}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := policy.ReadCounts(ctx, ms, tt.start, tt.end)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ReadCounts = %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("ReadCounts = %+v, want %+v", got, tt.want)
				}
			}
		})
	}
	b, err := ms.ReadBlob(ctx, policy.CountsBlob(day))
	if err != nil {
		t.Fatal(err)
	}
	const golden = `{"format":"comply-policy-counts/v1","day":"2026-11-30","counts":[{"hour":"2026-11-30T10:00:00Z","rule":"a","count":13},{"hour":"2026-11-30T10:00:00Z","rule":"default","count":4},{"hour":"2026-11-30T11:00:00Z","rule":"a","count":1}]}` + "\n"
	if string(b) != golden {
		t.Errorf("blob\n%s\nwant\n%s", b, golden)
	}
}

func TestParseCountsErrors(t *testing.T) {
	tests := []struct{ name, blob string }{
		{"not json", "x"},
		{"other format", `{"format":"x","counts":[]}`},
		{"negative", `{"format":"comply-policy-counts/v1","counts":[{"hour":"2026-11-30T10:00:00Z","rule":"a","count":-1}]}`},
		{"not an hour", `{"format":"comply-policy-counts/v1","counts":[{"hour":"2026-11-30T10:30:00Z","rule":"a","count":1}]}`},
		{"no rule", `{"format":"comply-policy-counts/v1","counts":[{"hour":"2026-11-30T10:00:00Z","rule":"","count":1}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if cs, err := policy.ParseCounts([]byte(tt.blob)); err == nil {
				t.Fatalf("ParseCounts = %+v, want an error", cs)
			}
		})
	}
}

// TestCounterWriters: the writers of one store (S3, several writers)
// count in blobs of their own, so neither overwrites the other's counts,
// and ReadCounts sums them.
func TestCounterWriters(t *testing.T) {
	ctx := t.Context()
	ms := memstore.New(0)
	hour := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	a, b := policy.NewWriterCounter(ms, "app-1"), policy.NewWriterCounter(ms, "app/2")
	for i := range 3 {
		if err := a.Add(ctx, hour.Add(time.Duration(i)*time.Minute), "quiet", 1); err != nil {
			t.Fatal(err)
		}
		if err := b.Add(ctx, hour.Add(time.Duration(i)*time.Minute), "quiet", 10); err != nil {
			t.Fatal(err)
		}
	}
	names, err := ms.ListBlobs(ctx, policy.CountsPrefix)
	if err != nil || len(names) != 2 {
		t.Fatalf("blobs %v, %v; want one per writer", names, err)
	}
	got, err := policy.ReadCounts(ctx, ms, time.Time{}, time.Time{})
	want := []policy.Count{{Hour: hour, Rule: "quiet", Count: 33}}
	if err != nil || len(got) != 1 || got[0] != want[0] {
		t.Fatalf("ReadCounts = %+v, %v; want %+v", got, err, want)
	}
}
