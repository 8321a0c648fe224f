package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// A Level says what an entry holds.
type Level string

// The levels, from the least kept to the most.
const (
	None      Level = "none"       // no entry; the interaction is counted
	Metadata  Level = "metadata"   // no content hashes, no content
	Hash      Level = "hash"       // content hashes (the default)
	KeyedHash Level = "keyed-hash" // HMAC content hashes; needs a hash key
	Encrypted Level = "encrypted"  // hashes and encrypted content; needs a keyring
)

// OnMissing says what happens to an interaction without a required
// metadata key.
type OnMissing string

// The answers to a missing required metadata key.
const (
	Flag   OnMissing = "flag"   // log it with an alert (the default)
	Reject OnMissing = "reject" // log nothing; Log returns an error
)

// A Policy is ordered rules, the first that matches wins, and a default
// action for an interaction no rule matches. The zero value logs hashes,
// as a Logger without a policy does.
type Policy struct {
	Default Action `yaml:"default" json:"default"`
	Rules   []Rule `yaml:"rules" json:"rules"`
}

// A Rule is a match and the action taken on what it matches. A field of
// its action left unset takes the default's value.
type Rule struct {
	Name   string `yaml:"name" json:"name"` // names the rule in counts, alerts and errors
	Match  Match  `yaml:"match" json:"match"`
	Action `yaml:",inline"`
}

// A Match selects interactions. Every field set must match; an empty
// Match matches everything.
type Match struct {
	Provider string            `yaml:"provider,omitempty" json:"provider,omitempty"` // glob
	Model    string            `yaml:"model,omitempty" json:"model,omitempty"`       // glob, e.g. "gpt-4*"
	Route    string            `yaml:"route,omitempty" json:"route,omitempty"`       // glob, e.g. "proxy/*"
	Metadata map[string]string `yaml:"metadata,omitempty" json:"metadata,omitempty"` // top-level key = value text
}

// An Action is what a rule (or the default) does.
type Action struct {
	Level           Level     `yaml:"level,omitempty" json:"level"`
	Require         []string  `yaml:"require,omitempty" json:"require"`
	Missing         OnMissing `yaml:"missing,omitempty" json:"missing"`
	MaxContentBytes int       `yaml:"max_content_bytes,omitempty" json:"max_content_bytes"`
}

// DefaultRule names the default action in counts and errors.
const DefaultRule = "default"

// An Input is what a policy knows of an interaction.
type Input struct {
	Provider, Model, Route string
	// Metadata returns the text of a top-level metadata key's value (a
	// string's content, or the JSON text of another value) and whether
	// the key is present.
	Metadata func(key string) (string, bool)
}

// A Decision is the action for one interaction and the rule that chose it.
type Decision struct {
	Rule string // the rule's name, or DefaultRule
	Action
	// MissingKeys are the required metadata keys the interaction lacks.
	MissingKeys []string
}

// An Error says what is wrong with a policy.
type Error struct {
	Line int // in the YAML, when known
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("policy: line %d: %v", e.Line, e.Err)
	}
	return "policy: " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// Parse reads a policy from YAML, strictly, and checks it. An empty
// document is the zero policy.
func Parse(b []byte) (*Policy, error) {
	var p Policy
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, &Error{Err: errors.New(strings.TrimPrefix(err.Error(), "yaml: "))}
	}
	if len(doc.Content) > 0 {
		root := doc.Content[0]
		if err := checkKeys(root); err != nil {
			return nil, &Error{Err: err}
		}
		if err := root.Decode((*plainPolicy)(&p)); err != nil {
			return nil, &Error{Err: errors.New(strings.TrimPrefix(err.Error(), "yaml: "))}
		}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &Error{Err: errors.New("more than one YAML document")}
	}
	if err := p.Check(); err != nil {
		return nil, err
	}
	return &p, nil
}

// plainPolicy is a Policy without its UnmarshalYAML.
type plainPolicy Policy

// UnmarshalYAML reads a policy section of a larger YAML file (comply
// serve's configuration), strictly, with line numbers in its errors.
func (p *Policy) UnmarshalYAML(n *yaml.Node) error {
	if err := checkKeys(n); err != nil {
		return err
	}
	var q plainPolicy
	if err := n.Decode(&q); err != nil {
		return err
	}
	if err := (*Policy)(&q).Check(); err != nil {
		var pe *Error
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("line %d: policy: %w", n.Line, err)
	}
	*p = Policy(q)
	return nil
}

// Check checks a policy: known levels and answers, valid globs, distinct
// rule names, no negative size.
func (p *Policy) Check() error {
	if err := p.Default.check("default"); err != nil {
		return err
	}
	seen := map[string]bool{DefaultRule: true}
	for i, r := range p.Rules {
		where := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" || strings.ContainsAny(r.Name, "\x00\n\r\t ") || seen[r.Name] {
			return &Error{Err: fmt.Errorf("%s: name %q: want a unique name without spaces (not %q)", where, r.Name, DefaultRule)}
		}
		seen[r.Name] = true
		for _, g := range []string{r.Match.Provider, r.Match.Model, r.Match.Route} {
			if _, err := path.Match(g, ""); err != nil {
				return &Error{Err: fmt.Errorf("rule %s: glob %q: %w", r.Name, g, err)}
			}
		}
		if err := r.Action.check("rule " + r.Name); err != nil {
			return err
		}
	}
	return nil
}

func (a *Action) check(where string) error {
	switch a.Level {
	case "", None, Metadata, Hash, KeyedHash, Encrypted:
	default:
		return &Error{Err: fmt.Errorf("%s: level %q: want none, metadata, hash, keyed-hash or encrypted", where, a.Level)}
	}
	switch a.Missing {
	case "", Flag, Reject:
	default:
		return &Error{Err: fmt.Errorf("%s: missing %q: want flag or reject", where, a.Missing)}
	}
	if a.MaxContentBytes < 0 {
		return &Error{Err: fmt.Errorf("%s: max_content_bytes %d: want 0 (no limit) or more", where, a.MaxContentBytes)}
	}
	for _, k := range a.Require {
		if k == "" {
			return &Error{Err: fmt.Errorf("%s: require: an empty key", where)}
		}
	}
	return nil
}

// resolved returns a's fields, unset ones taken from def, then the
// built-in defaults (hash, flag).
func (a Action) resolved(def Action) Action {
	if a.Level == "" {
		a.Level = def.Level
	}
	if a.Require == nil {
		a.Require = def.Require
	}
	if a.Missing == "" {
		a.Missing = def.Missing
	}
	if a.MaxContentBytes == 0 {
		a.MaxContentBytes = def.MaxContentBytes
	}
	if a.Level == "" {
		a.Level = Hash
	}
	if a.Missing == "" {
		a.Missing = Flag
	}
	if a.Require == nil {
		a.Require = []string{}
	}
	return a
}

// Decide returns the action for in: the first rule that matches, or the
// default. A nil policy decides the zero policy's default (hash).
func (p *Policy) Decide(in Input) Decision {
	if p == nil {
		return Decision{Rule: DefaultRule, Action: Action{}.resolved(Action{})}
	}
	d := Decision{Rule: DefaultRule, Action: p.Default.resolved(Action{})}
	for _, r := range p.Rules {
		if r.Match.matches(in) {
			d = Decision{Rule: r.Name, Action: r.Action.resolved(p.Default)}
			break
		}
	}
	for _, k := range d.Require {
		if in.Metadata == nil {
			d.MissingKeys = append(d.MissingKeys, k)
			continue
		}
		if _, ok := in.Metadata(k); !ok {
			d.MissingKeys = append(d.MissingKeys, k)
		}
	}
	return d
}

func (m *Match) matches(in Input) bool {
	for _, c := range [...][2]string{{m.Provider, in.Provider}, {m.Model, in.Model}, {m.Route, in.Route}} {
		if c[0] == "" {
			continue
		}
		if ok, _ := path.Match(c[0], c[1]); !ok {
			return false
		}
	}
	for k, want := range m.Metadata {
		if in.Metadata == nil {
			return false
		}
		if got, ok := in.Metadata(k); !ok || got != want {
			return false
		}
	}
	return true
}

// NeedsMetadata reports whether deciding needs the metadata's keys: a
// rule matches on metadata, or an action requires keys.
func (p *Policy) NeedsMetadata() bool {
	if p == nil {
		return false
	}
	if len(p.Default.Require) > 0 {
		return true
	}
	for _, r := range p.Rules {
		if len(r.Match.Metadata) > 0 || len(r.Require) > 0 {
			return true
		}
	}
	return false
}

// Levels returns the levels the policy may decide, each once.
func (p *Policy) Levels() []Level {
	if p == nil {
		return []Level{Hash}
	}
	out := []Level{p.Default.resolved(Action{}).Level}
	for _, r := range p.Rules {
		if l := r.Action.resolved(p.Default).Level; !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// Text returns the policy's canonical text: one line of JSON of the
// policy with every rule's action resolved against the default, so that
// two policies that decide alike in every field have the same text. A
// nil policy's text is "null".
func (p *Policy) Text() string {
	if p == nil {
		return "null"
	}
	c := Policy{Default: p.Default.resolved(Action{}), Rules: make([]Rule, len(p.Rules))}
	for i, r := range p.Rules {
		r.Action = r.Action.resolved(p.Default)
		c.Rules[i] = r
	}
	b, err := json.Marshal(c) // maps marshal with sorted keys
	if err != nil {
		return "null" // unreachable: only strings, ints and slices of them
	}
	return string(b)
}

var (
	actionKeys = []string{"level", "require", "missing", "max_content_bytes"}
	ruleKeys   = append([]string{"name", "match"}, actionKeys...)
	matchKeys  = []string{"provider", "model", "route", "metadata"}
)

// checkKeys refuses unknown keys in a policy node (Node.Decode does not
// keep a decoder's KnownFields), naming the line.
func checkKeys(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return nil // the decode reports the wrong type
	}
	return walkKeys(n, []string{"default", "rules"}, func(k string, v *yaml.Node) error {
		switch k {
		case "default":
			return walkKeys(v, actionKeys, nil)
		case "rules":
			if v.Kind != yaml.SequenceNode {
				return nil
			}
			for _, r := range v.Content {
				if err := walkKeys(r, ruleKeys, func(k string, v *yaml.Node) error {
					if k == "match" {
						return walkKeys(v, matchKeys, nil)
					}
					return nil
				}); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func walkKeys(n *yaml.Node, known []string, sub func(string, *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.Contains(known, k.Value) {
			return fmt.Errorf("line %d: unknown key %s", k.Line, k.Value)
		}
		if sub != nil {
			if err := sub(k.Value, n.Content[i+1]); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolvedPolicy is a Policy with every action's fields resolved, which
// MarshalYAML writes in full: an empty require list must stay distinct
// from an unset one.
type resolvedPolicy struct {
	Default resolvedAction `yaml:"default"`
	Rules   []resolvedRule `yaml:"rules"`
}

type resolvedRule struct {
	Name           string `yaml:"name"`
	Match          Match  `yaml:"match"`
	resolvedAction `yaml:",inline"`
}

type resolvedAction struct {
	Level           Level     `yaml:"level"`
	Require         []string  `yaml:"require,flow"`
	Missing         OnMissing `yaml:"missing"`
	MaxContentBytes int       `yaml:"max_content_bytes"`
}

// MarshalYAML writes the policy with every rule's action resolved against
// the default (as Text does), so that it reads back deciding the same.
func (p Policy) MarshalYAML() (any, error) {
	out := resolvedPolicy{Default: resolvedAction(p.Default.resolved(Action{})), Rules: make([]resolvedRule, len(p.Rules))}
	for i, r := range p.Rules {
		out.Rules[i] = resolvedRule{Name: r.Name, Match: r.Match, resolvedAction: resolvedAction(r.Action.resolved(p.Default))}
	}
	return out, nil
}
