package comply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/store"
)

// ErrNoHashKey is wrapped by the *PolicyError of an interaction whose
// policy level is keyed-hash when the Logger has no Options.HashKey.
var ErrNoHashKey = errors.New("no hash key configured")

// ErrMissingMetadata is wrapped by the *PolicyError of an interaction that
// lacks metadata keys its policy requires with missing: reject.
var ErrMissingMetadata = errors.New("missing required metadata")

// A PolicyError says that the logging policy refused an interaction:
// required metadata is missing (missing: reject), or the level asks for a
// protection the Logger cannot give (keyed-hash without a hash key,
// encrypted without a keyring). Nothing was stored: comply fails closed.
type PolicyError struct {
	Rule    string       // the rule that decided, or policy.DefaultRule
	Level   policy.Level // the level it decided
	Missing []string     // the required metadata keys missing, if that is why
	Err     error        // ErrMissingMetadata, ErrNoHashKey or ErrNoEncryption
}

func (e *PolicyError) Error() string {
	if len(e.Missing) > 0 {
		return fmt.Sprintf("policy rule %s: %v: %s", e.Rule, e.Err, strings.Join(e.Missing, ", "))
	}
	return fmt.Sprintf("policy rule %s: level %s: %v", e.Rule, e.Level, e.Err)
}

func (e *PolicyError) Unwrap() error { return e.Err }

type routeKey struct{}

// WithRoute returns a context that tells a Logger's policy which front end
// logs: "proxy/<upstream>" for an upstream of comply serve, "proxy" for
// comply proxy, "otlp" for the OTLP ingest, "api" for the entries API,
// "transport" for llm.Transport. Rules match it with their route glob.
func WithRoute(ctx context.Context, route string) context.Context {
	return context.WithValue(ctx, routeKey{}, route)
}

// RouteFrom returns the route WithRoute set on ctx, or "".
func RouteFrom(ctx context.Context) string {
	r, _ := ctx.Value(routeKey{}).(string)
	return r
}

// decision is what the Logger does with one interaction.
type decision struct {
	policy.Decision
	alerts []string // alerts the policy adds
}

// decide applies the Logger's policy to in, whose encoded metadata is md.
// It returns a *PolicyError for a refused interaction. Without a policy it
// decides the Logger's own level: encrypted with StoreContent, else hash.
func (l *Logger) decide(in *Interaction, route string, md []byte) (decision, error) {
	p := l.opts.Policy
	if p == nil {
		d := decision{Decision: policy.Decision{Rule: policy.DefaultRule, Action: policy.Action{Level: policy.Hash}}}
		if l.opts.StoreContent {
			d.Level = policy.Encrypted
		}
		return d, nil
	}
	pin := policy.Input{Provider: in.Provider, Model: in.Model, Route: route}
	if p.NeedsMetadata() {
		pin.Metadata = metadataLookup(md)
	}
	d := decision{Decision: p.Decide(pin)}
	if len(d.MissingKeys) > 0 {
		if d.Missing == policy.Reject {
			return d, &PolicyError{Rule: d.Rule, Level: d.Level, Missing: d.MissingKeys, Err: ErrMissingMetadata}
		}
		d.alerts = append(d.alerts, "missing required metadata: "+strings.Join(d.MissingKeys, ", "))
	}
	switch {
	case d.Level == policy.KeyedHash && l.hmacPool == nil:
		return d, &PolicyError{Rule: d.Rule, Level: d.Level, Err: ErrNoHashKey}
	case d.Level == policy.Encrypted && !l.canSeal():
		return d, &PolicyError{Rule: d.Rule, Level: d.Level, Err: ErrNoEncryption}
	}
	return d, nil
}

// metadataLookup returns the policy's view of the metadata object md: a
// string value's content, or another value's JSON text.
func metadataLookup(md []byte) func(string) (string, bool) {
	var m map[string]json.RawMessage
	if len(md) > 0 {
		_ = json.Unmarshal(md, &m) // md is a valid object; else no keys
	}
	return func(k string) (string, bool) {
		v, ok := m[k]
		if !ok {
			return "", false
		}
		var s string
		if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
			return s, true
		}
		return string(v), true
	}
}

// protect fills the entry's content fields as the level says: hashes
// (none for metadata), and the sealed content for encrypted, cut to the
// policy's maximum. Hashes always cover the whole content, so that they
// still prove it; only what is stored is cut. It returns the metadata with
// the "truncated" record added when content was cut.
func (l *Logger) protect(in *Interaction, e *line.Entry, d *decision, md []byte) ([]byte, error) {
	if d.Level == policy.Metadata {
		e.InputHash, e.OutputHash = "", "" // the documented sentinel: no hash
		return md, nil
	}
	e.InputHash, e.OutputHash = in.InputHash, l.hash(in.Output)
	if e.InputHash == "" {
		e.InputHash = l.hash(in.Input)
	}
	if d.Level != policy.Encrypted {
		return md, nil
	}
	max := d.MaxContentBytes
	cut := *in
	var trunc []string
	if max > 0 && in.InputHash == "" && len(in.Input) > max {
		cut.Input = truncateUTF8(in.Input, max)
		trunc = append(trunc, `"input": `+strconv.Itoa(len(in.Input)))
	}
	if max > 0 && len(in.Output) > max {
		cut.Output = truncateUTF8(in.Output, max)
		trunc = append(trunc, `"output": `+strconv.Itoa(len(in.Output)))
	}
	keyID, err := l.sealContent(&cut, e)
	if err != nil {
		return md, err
	}
	if keyID != "" {
		if md, err = withKeyVersion(md, keyID); err != nil {
			return md, &InvalidError{Field: "metadata", Err: err}
		}
	}
	if len(trunc) == 0 {
		return md, nil
	}
	d.alerts = append(d.alerts, fmt.Sprintf("content truncated by policy rule %s to %d bytes", d.Rule, max))
	return withTruncated(md, "{"+strings.Join(trunc, ", ")+"}"), nil
}

// truncateUTF8 returns s cut to at most n bytes, at a rune boundary.
func truncateUTF8(s string, n int) string {
	for n > 0 && !utf8.RuneStart(s[n]) { // s[n] exists: len(s) > n
		n--
	}
	return s[:n]
}

// withTruncated returns the metadata object md with the key "truncated"
// set to obj, in the seed's separators; a caller's own "truncated" key is
// kept, and the alert alone tells of the cut.
func withTruncated(md []byte, obj string) []byte {
	if len(md) == 0 || string(md) == "{}" {
		return []byte(`{"truncated": ` + obj + `}`)
	}
	if _, ok := metadataLookup(md)("truncated"); ok {
		return md
	}
	out := bytes.TrimRight(md, " ")
	return slices.Concat(out[:len(out)-1], []byte(`, "truncated": `+obj+`}`))
}

// ErrNoCounter is returned by Log for an interaction of policy level none
// when the store keeps no sidecar blobs to count it in: comply never drops
// an interaction silently.
var ErrNoCounter = errors.New("policy level none: the store keeps no sidecar blobs to count in")

// initPolicy checks Options.Policy and makes the Logger's copy: a default
// level left unset becomes the Logger's own.
func (l *Logger) initPolicy() error {
	o := &l.opts
	if o.Policy == nil {
		return nil
	}
	if err := o.Policy.Check(); err != nil {
		return fmt.Errorf("comply: %w", err)
	}
	p := *o.Policy
	if p.Default.Level == "" && o.StoreContent {
		p.Default.Level = policy.Encrypted
	}
	o.Policy = &p
	if sc, ok := l.store.(store.Sidecar); ok {
		var writer string
		if sh, ok := l.store.(store.Shared); ok {
			writer = sh.WriterID()
		}
		l.counter = policy.NewWriterCounter(sc, writer)
	}
	return nil
}

// countNone counts the records of level none (no ID; Path holds the
// rule), durably, and returns the others.
func (l *Logger) countNone(ctx context.Context, recs []store.Record) ([]store.Record, error) {
	none := 0
	for _, r := range recs {
		if r.ID == "" {
			none++
		}
	}
	if none == 0 {
		return recs, nil // the usual case: no copy
	}
	keep := make([]store.Record, 0, len(recs)-none)
	type key struct {
		hour time.Time
		rule string
	}
	counts := map[key]int64{}
	for _, r := range recs {
		if r.ID != "" {
			keep = append(keep, r)
			continue
		}
		counts[key{r.Time.Truncate(time.Hour), r.Path}]++
	}
	if l.counter == nil {
		return nil, fmt.Errorf("comply: log: %w", ErrNoCounter)
	}
	for k, n := range counts {
		if err := l.counter.Add(ctx, k.hour, k.rule, n); err != nil {
			return nil, fmt.Errorf("comply: log: %w", err)
		}
	}
	return keep, nil
}

// PolicyText returns the canonical text of the Logger's policy ("null"
// without one), as the ledger records it.
func (l *Logger) PolicyText() string { return l.opts.Policy.Text() }

// recordPolicy writes a signed policy record in the Logger's ledger, if it
// has one, when the policy in force differs from the last one recorded. A
// Logger without a policy records "null" only after one that had a policy.
func (l *Logger) recordPolicy(ctx context.Context) error {
	lg := l.Ledger()
	if lg == nil {
		return nil
	}
	if l.opts.Policy == nil {
		if recs, err := lg.Policies(ctx); err != nil || len(recs) == 0 {
			return nil
		}
	}
	if _, err := lg.RecordPolicy(ctx, l.PolicyText()); err != nil {
		return fmt.Errorf("comply: %w", err)
	}
	return nil
}
