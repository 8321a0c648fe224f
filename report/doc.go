// Package report builds compliance reports from an audit store: the
// evidence (population, coverage, integrity, retention, safety,
// attribution and minimisation, access, incident candidates, a population
// sample with inclusion proofs, the erasures and deletions on request, and
// the policies in force with what they only counted) computed from the
// store, its ledger and its signed records (rewrites, erasures, policies), its access log and its configuration, and a table of controls
// per framework (EU AI Act, SOC 2, HIPAA, ISO/IEC 42001, GDPR), each with
// a status that is never "pass" without the evidence behind it.
//
// Build computes a Report; WriteJSON, WriteMarkdown and WriteHTML render
// it. The JSON form is versioned (Version) and documented in
// docs/format.md, section 9. A log proves that a control operated, never
// that a policy exists: controls that need a policy or a person say
// "manual".
package report
