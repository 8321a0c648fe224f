package ledger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// A PolicyRecord is the signed record of the logging policy in force from
// its time on (package policy), written when a Logger opens with a policy
// whose canonical text differs from the last one recorded. Its note text
// is line-oriented:
//
//	comply-policy/v1
//	<origin>
//	time <RFC 3339 UTC>
//	size <tree size when written>
//	sha256 <hex SHA-256 of the policy text>
//	policy <the canonical policy text: one line of JSON, or null>
//
// A policy of "null" says the Logger opened without a policy (every
// interaction hashed, or encrypted with content storage).
type PolicyRecord struct {
	Origin string
	Time   time.Time
	Size   uint64
	SHA256 string // hex
	Text   string
}

const policyMagic = "comply-policy/v1"

const policiesDir = "policies/"

var errPolicy = errors.New("malformed policy record")

// text returns the record's note text.
func (p *PolicyRecord) text() string {
	return fmt.Sprintf("%s\n%s\ntime %s\nsize %d\nsha256 %s\npolicy %s\n", policyMagic, p.Origin,
		p.Time.UTC().Format(time.RFC3339Nano), p.Size, p.SHA256, p.Text)
}

// ParsePolicyRecord parses a policy record's note text.
func ParsePolicyRecord(text string) (*PolicyRecord, error) {
	if !strings.HasSuffix(text, "\n") || !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: not newline-terminated UTF-8 text", errPolicy)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != 6 || lines[0] != policyMagic || lines[1] == "" {
		return nil, fmt.Errorf("%w: want %s and its five lines", errPolicy, policyMagic)
	}
	p := &PolicyRecord{Origin: lines[1]}
	for i, key := range []string{"time", "size", "sha256", "policy"} {
		k, val, ok := strings.Cut(lines[2+i], " ")
		if !ok || k != key {
			return nil, fmt.Errorf("%w: want a %s line", errPolicy, key)
		}
		var err error
		switch key {
		case "time":
			p.Time, err = time.Parse(time.RFC3339Nano, val)
		case "size":
			p.Size, err = strconv.ParseUint(val, 10, 64)
		case "sha256":
			p.SHA256 = val
		case "policy":
			p.Text = val
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s line: %v", errPolicy, key, err)
		}
	}
	if sum := sha256.Sum256([]byte(p.Text)); hex.EncodeToString(sum[:]) != p.SHA256 {
		return nil, fmt.Errorf("%w: the sha256 line does not match the policy", errPolicy)
	}
	p.Time = p.Time.UTC()
	return p, nil
}

func policyBlob(slug string, n int) string {
	return fmt.Sprintf("%s%s%0*d", prefixOf(slug), policiesDir, delNameDigits, n)
}

// RecordPolicy writes a signed policy record of text, the canonical text
// of the policy in force (policy.Policy.Text), unless the last record of
// this ledger holds the same text. It reports whether it wrote one.
func (l *Ledger) RecordPolicy(ctx context.Context, text string) (bool, error) {
	if strings.ContainsAny(text, "\n\r") || !utf8.ValidString(text) || text == "" {
		return false, errors.New("ledger: policy record: the policy text must be one line of UTF-8")
	}
	size := l.Size() // takes cpMu
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	names, err := l.sc.ListBlobs(ctx, prefixOf(l.slug)+policiesDir)
	if err != nil {
		return false, fmt.Errorf("ledger: policy records: %w", err)
	}
	if n := len(names); n > 0 && l.self != nil {
		recs, err := readPolicies(ctx, l.sc, names[n-1:], l.origin, note.VerifierList(l.self))
		if err == nil && recs[0].Text == text {
			return false, nil
		}
	}
	sum := sha256.Sum256([]byte(text))
	p := &PolicyRecord{Origin: l.origin, Time: l.opts.Now().UTC(), Size: size, SHA256: hex.EncodeToString(sum[:]), Text: text}
	msg, err := note.Sign(&note.Note{Text: p.text()}, l.opts.Signer)
	if err != nil {
		return false, fmt.Errorf("ledger: signing a policy record: %w", err)
	}
	next := 0
	if n := len(names); n > 0 {
		seq, ok := parseSeq(names[n-1], policiesDir, delNameDigits)
		if !ok {
			return false, fmt.Errorf("ledger: policy record %s: an unexpected name", names[n-1])
		}
		next = int(seq) + 1
	}
	if err := l.sc.WriteBlob(ctx, policyBlob(l.slug, next), msg); err != nil {
		return false, fmt.Errorf("ledger: writing a policy record: %w", err)
	}
	return true, nil
}

// Policies returns the ledger's policy records, oldest first, each
// verified with the ledger's signer.
func (l *Ledger) Policies(ctx context.Context) ([]PolicyRecord, error) {
	if l.self == nil {
		return nil, errors.New("ledger: policy records: the signer's verifier is unknown (open with a *Signer)")
	}
	return Policies(ctx, l.sc, l.origin, note.VerifierList(l.self))
}

// Policies returns the policy records of origin's log in sc, oldest
// first, each verified with a known key: a record that none signed, or
// that does not parse, is an error.
func Policies(ctx context.Context, sc store.Sidecar, origin string, known note.Verifiers) ([]PolicyRecord, error) {
	names, err := sc.ListBlobs(ctx, prefixOf(Slug(origin))+policiesDir)
	if err != nil {
		return nil, fmt.Errorf("ledger: policy records: %w", err)
	}
	return readPolicies(ctx, sc, names, origin, known)
}

func readPolicies(ctx context.Context, sc store.Sidecar, names []string, origin string, known note.Verifiers) ([]PolicyRecord, error) {
	out := make([]PolicyRecord, 0, len(names))
	for _, name := range names {
		b, err := sc.ReadBlob(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("ledger: policy record %s: %w", name, err)
		}
		text, _, err := openNote(b, known)
		if err != nil {
			return nil, fmt.Errorf("ledger: policy record %s: %w", name, err)
		}
		p, err := ParsePolicyRecord(text)
		if err != nil {
			return nil, fmt.Errorf("ledger: policy record %s: %w", name, err)
		}
		if p.Origin != origin {
			return nil, fmt.Errorf("ledger: policy record %s names another origin, %q", name, p.Origin)
		}
		out = append(out, *p)
	}
	return out, nil
}
