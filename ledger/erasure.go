package ledger

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// An Erasure is the signed record of a data subject's content erased by
// crypto-shredding (package subjectkey): the subject's data key was
// destroyed, so the content of its entries can never be decrypted again,
// while the entries and their leaves stay and verify. Its note text is
// line-oriented:
//
//	comply-erasure/v1
//	<origin>
//	subject <metadata key, such as user_id>
//	hmac <keyed hash of the subject value, hex>
//	key <the data key's id>
//	time <RFC 3339 UTC>
//	legal-hold true|false
//	reason <one line of text>
//
// legal-hold says that the entries themselves are kept under a retention
// lock or legal hold (GDPR Art. 17(3) exception): only their content is
// erased. The subject value itself is never recorded.
type Erasure struct {
	Origin    string    `json:"origin"`
	Subject   string    `json:"subject"`
	HMAC      string    `json:"hmac"`
	KeyID     string    `json:"key"`
	Time      time.Time `json:"time"`
	LegalHold bool      `json:"legal_hold"`
	Reason    string    `json:"reason"`
}

const (
	erasureMagic = "comply-erasure/v1"
	erasuresDir  = "erasures/"
)

var errErasure = errors.New("malformed erasure record")

// Text returns the record's note text.
func (e *Erasure) Text() string {
	return fmt.Sprintf("%s\n%s\nsubject %s\nhmac %s\nkey %s\ntime %s\nlegal-hold %t\nreason %s\n", erasureMagic, e.Origin,
		e.Subject, e.HMAC, e.KeyID, e.Time.UTC().Format(time.RFC3339Nano), e.LegalHold, e.Reason)
}

// ParseErasure parses an erasure record's note text.
func ParseErasure(text string) (*Erasure, error) {
	if !strings.HasSuffix(text, "\n") || !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: not newline-terminated UTF-8 text", errErasure)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	want := []string{"", "", "subject", "hmac", "key", "time", "legal-hold", "reason"}
	if len(lines) != len(want) || lines[0] != erasureMagic || lines[1] == "" {
		return nil, fmt.Errorf("%w: want %s and 7 lines", errErasure, erasureMagic)
	}
	f := make([]string, len(lines))
	for i := 2; i < len(lines); i++ {
		k, v, ok := strings.Cut(lines[i], " ")
		if !ok || k != want[i] || v == "" || strings.ContainsAny(v, " ") && k != "reason" {
			return nil, fmt.Errorf("%w: line %q", errErasure, clip(lines[i]))
		}
		f[i] = v
	}
	t, err := time.Parse(time.RFC3339Nano, f[5])
	if err != nil || f[6] != "true" && f[6] != "false" || !safeReason(f[7]) {
		return nil, fmt.Errorf("%w: bad time, legal-hold or reason", errErasure)
	}
	return &Erasure{Origin: lines[1], Subject: f[2], HMAC: f[3], KeyID: f[4], Time: t.UTC(), LegalHold: f[6] == "true", Reason: f[7]}, nil
}

// RecordErasure signs e (its Origin set to this ledger's) and writes it as
// this ledger's next erasure record.
func (l *Ledger) RecordErasure(ctx context.Context, e *Erasure) error {
	e.Origin = l.origin
	if !safeReason(e.Reason) {
		return errors.New("ledger: erasure: the reason must be one line of text")
	}
	if _, err := ParseErasure(e.Text()); err != nil {
		return fmt.Errorf("ledger: erasure: %w", err)
	}
	l.cpMu.Lock()
	defer l.cpMu.Unlock()
	names, err := l.sc.ListBlobs(ctx, prefixOf(l.slug)+erasuresDir)
	if err != nil {
		return fmt.Errorf("ledger: %w", err)
	}
	next := 0
	for _, name := range names {
		if n, ok := parseSeq(name, erasuresDir, delNameDigits); ok && int(n) >= next {
			next = int(n) + 1
		}
	}
	msg, err := note.Sign(&note.Note{Text: e.Text()}, l.opts.Signer)
	if err != nil {
		return fmt.Errorf("ledger: signing an erasure record: %w", err)
	}
	name := fmt.Sprintf("%s%s%0*d", prefixOf(l.slug), erasuresDir, delNameDigits, next)
	if err := l.sc.WriteBlob(ctx, name, msg); err != nil {
		return fmt.Errorf("ledger: writing an erasure record: %w", err)
	}
	return nil
}

// Erasures returns the erasure records of every ledger of the store that
// one of verifiers signed, stamped within [start, end] (zero bounds are
// open), oldest first; a record that no verifier signs, or that cannot be
// read, is an error. For a compliance report (GDPR Art. 17).
func Erasures(ctx context.Context, sc store.Sidecar, verifiers []note.Verifier, start, end time.Time) ([]Erasure, error) {
	slugs, err := listSlugs(ctx, sc)
	if err != nil {
		return nil, fmt.Errorf("ledger: %w", err)
	}
	known := note.VerifierList(verifiers...)
	var out []Erasure
	for _, slug := range slugs {
		names, err := sc.ListBlobs(ctx, prefixOf(slug)+erasuresDir)
		if err != nil {
			return nil, fmt.Errorf("ledger: %w", err)
		}
		for _, name := range names {
			b, err := sc.ReadBlob(ctx, name)
			if err != nil {
				return nil, fmt.Errorf("ledger: %w", err)
			}
			text, _, err := openNote(b, known)
			if err != nil {
				return nil, fmt.Errorf("ledger: erasure record %s: %w", name, err)
			}
			e, err := ParseErasure(text)
			if err != nil {
				return nil, fmt.Errorf("ledger: erasure record %s: %w", name, err)
			}
			if (start.IsZero() || !e.Time.Before(start)) && (end.IsZero() || !e.Time.After(end)) {
				out = append(out, *e)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Time.Before(out[j].Time) })
	return out, nil
}
