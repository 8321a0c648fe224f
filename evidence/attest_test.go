package evidence_test

import (
	"testing"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/evidence"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/store/filestore"
)

func TestAttest(t *testing.T) {
	t.Parallel()
	s, v := fixedKey(t, "prod", zeros{})
	dir := t.TempDir()
	st, err := filestore.Open(t.Context(), dir, &filestore.Options{Durability: filestore.None})
	if err != nil {
		t.Fatal(err)
	}
	l, err := comply.NewWithIntegrity(t.Context(), st, nil, &comply.IntegrityOptions{Signer: s, Origin: "comply/attest-test"})
	if err != nil {
		t.Fatal(err)
	}
	report := []byte(`{"version":1,"period":{"label":"2026-Q3","start":"2026-07-01T00:00:00Z","end":"2026-09-30T23:59:59.999999999Z"}}`)
	a, err := evidence.NewAttestation(report, "Dana Auditor", "reviewed; gap on 2026-08-02 explained by maintenance")
	if err != nil {
		t.Fatal(err)
	}
	id, err := evidence.Attest(t.Context(), l, a)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Log(t.Context(), comply.Interaction{Input: "hi", Output: "hello", Provider: "comply", Model: "attestation"}); err != nil {
		t.Fatal(err) // same provider and model, not an attestation: skipped
	}
	got, err := evidence.Attestations(t.Context(), l, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != id || got[0].Reviewer != "Dana Auditor" || got[0].Period != "2026-Q3" ||
		got[0].ReportSHA256 != a.ReportSHA256 || !got[0].End.Equal(time.Date(2026, 9, 30, 23, 59, 59, 999999999, time.UTC)) {
		t.Errorf("attestations %+v, want the one recorded (%s)", got, id)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	// Signed like any entry: provable once the writer closed.
	ro, err := filestore.Open(t.Context(), dir, &filestore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	p, err := ledger.Prove(t.Context(), ro, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ledger.VerifyProof(p, v); err != nil {
		t.Errorf("the attestation's proof: %v", err)
	}
	if _, err := evidence.NewAttestation([]byte("not json"), "x", ""); err == nil {
		t.Error("an attestation of a non-report: no error")
	}
	if _, err := evidence.NewAttestation(report, " ", ""); err == nil {
		t.Error("an attestation without reviewer: no error")
	}
}
