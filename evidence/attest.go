package evidence

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/complyhq/comply"
)

// The provider and model of an attestation entry.
const (
	AttestationProvider = "comply"
	AttestationModel    = "attestation"
)

// An Attestation is a reviewer's signed statement that they reviewed a
// report: the report's SHA-256, the period it covers, who and what they
// said. It is stored as an entry's metadata.
type Attestation struct {
	ID           string    `json:"-"`                // the entry's id
	Time         time.Time `json:"-"`                // the entry's time
	Kind         string    `json:"kind"`             // "comply.attestation"
	ReportSHA256 string    `json:"report_sha256"`    // hex
	Period       string    `json:"period,omitempty"` // the report's label
	Start        time.Time `json:"period_start,omitzero"`
	End          time.Time `json:"period_end,omitzero"`
	Reviewer     string    `json:"reviewer"`
	Note         string    `json:"note"`
}

// attestationKind is Attestation.Kind.
const attestationKind = "comply.attestation"

// NewAttestation returns the attestation of a report (its JSON bytes, as
// written), reading the period from the report's "period" object.
func NewAttestation(report []byte, reviewer, note string) (*Attestation, error) {
	if strings.TrimSpace(reviewer) == "" {
		return nil, errors.New("evidence: attest: no reviewer")
	}
	var p struct {
		Period struct {
			Label string    `json:"label"`
			Start time.Time `json:"start"`
			End   time.Time `json:"end"`
		} `json:"period"`
	}
	if err := json.Unmarshal(report, &p); err != nil {
		return nil, fmt.Errorf("evidence: attest: not a comply report: %w", err)
	}
	sum := sha256.Sum256(report)
	return &Attestation{Kind: attestationKind, ReportSHA256: hex.EncodeToString(sum[:]),
		Period: p.Period.Label, Start: p.Period.Start.UTC(), End: p.Period.End.UTC(), Reviewer: reviewer, Note: note}, nil
}

// Attest records the attestation as an entry of l (provider "comply",
// model "attestation", the attestation as metadata) and returns its id.
// Through a Logger with integrity (comply.NewWithIntegrity) the entry is
// signed like any other, and 'comply prove' proves it.
func Attest(ctx context.Context, l *comply.Logger, a *Attestation) (string, error) {
	id, err := l.Log(ctx, comply.Interaction{
		Input:    "review of report sha256:" + a.ReportSHA256,
		Output:   a.Note,
		Provider: AttestationProvider,
		Model:    AttestationModel,
		Metadata: a,
	})
	if err != nil {
		return "", fmt.Errorf("evidence: attest: %w", err)
	}
	return id, nil
}

// Attestations returns the attestations recorded in [start, end]
// (inclusive; a zero bound is unbounded), oldest first. An entry of the
// provider and model whose metadata is not an attestation is skipped.
func Attestations(ctx context.Context, l *comply.Logger, start, end time.Time) ([]Attestation, error) {
	var out []Attestation
	q := comply.Query{Start: start, End: end, Provider: AttestationProvider, Model: AttestationModel}
	for e, err := range l.Query(ctx, q) {
		if err != nil {
			return out, fmt.Errorf("evidence: attestations: %w", err)
		}
		var a Attestation
		if json.Unmarshal(e.Metadata, &a) != nil || a.Kind != attestationKind {
			continue
		}
		a.ID, a.Time = e.ID, e.Timestamp
		out = append(out, a)
	}
	return out, nil
}
