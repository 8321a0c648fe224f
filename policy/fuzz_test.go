package policy_test

import (
	"strings"
	"testing"

	"github.com/complyhq/comply/policy"
)

// FuzzParse checks that Parse never panics, that a policy it accepts has a
// one-line canonical text that parses back to the same text as JSON (YAML
// reads JSON), and that deciding never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte(teams))
	f.Add([]byte("default: {level: none}"))
	f.Add([]byte("rules: [{name: a, match: {model: '[a-'}}]"))
	f.Add([]byte("rules:\n  - name: a\n    require: [x]\n    missing: reject\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := policy.Parse(b)
		if err != nil {
			return
		}
		text := p.Text()
		if strings.ContainsAny(text, "\n\r") {
			t.Fatalf("canonical text has a newline: %q", text)
		}
		q, err := policy.Parse([]byte(text))
		if err != nil {
			t.Fatalf("canonical text %s does not parse: %v", text, err)
		}
		if q.Text() != text {
			t.Fatalf("canonical text not stable:\n%s\n%s", text, q.Text())
		}
		p.Decide(policy.Input{Provider: "openai", Model: "gpt-4", Route: "otlp", Metadata: md("team", "x")})
	})
}
