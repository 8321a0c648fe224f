package report

import (
	"fmt"
	"strings"
)

// Framework minimums of retention, in days.
const (
	aiActMinDays = 183       // six months (Art. 19(1), 26(6))
	hipaaMinDays = 6*365 + 2 // six years (164.316(b)(2)(i))
)

// controls evaluates the controls of r.Frameworks from r's evidence.
func controls(r *Report) []Control {
	var out []Control
	for _, f := range r.Frameworks {
		for _, c := range catalogue(r, f) {
			c.Framework = f
			if c.Figures == nil {
				c.Figures = map[string]any{}
			}
			out = append(out, c)
		}
	}
	return out
}

func catalogue(r *Report, f string) []Control {
	switch f {
	case EUAIAct:
		return []Control{
			recording(r, "eu-ai-act/recording", "Art. 12(1)", "The system records events automatically over its lifetime, without silent gaps."),
			integrity(r, "eu-ai-act/integrity", "Art. 12(1)", "The records are trustworthy: every entry verifies against the signed ledger."),
			attribution(r, "eu-ai-act/traceability", "Art. 12(2)", "Each entry can be traced to the user and session it served."),
			retention(r, "eu-ai-act/retention-provider", "Art. 19(1)", "Automatically generated logs are kept at least six months.", aiActMinDays),
			retention(r, "eu-ai-act/retention-deployer", "Art. 26(6)", "The deployer keeps the logs under its control at least six months.", aiActMinDays),
			incidents(r, "eu-ai-act/incidents", "Art. 73", "Serious incidents are reported within 2, 10 or 15 days of becoming aware."),
		}
	case SOC2:
		return []Control{
			access(r, "soc2/access", "CC6.1", "Access to the evidence is restricted and every access is recorded."),
			recording(r, "soc2/monitoring", "CC7.2", "System activity is monitored continuously: the logger ran the whole period."),
			integrity(r, "soc2/integrity", "CC7.2", "The monitoring records cannot be altered unnoticed."),
			incidents(r, "soc2/evaluation", "CC7.3", "Security events are evaluated to decide whether they are incidents."),
			sample(r, "soc2/population", "CC7.2", "A sample of the population can be tested: each sampled entry has an inclusion proof."),
		}
	case HIPAA:
		return []Control{
			recording(r, "hipaa/audit-controls", "164.312(b)", "Activity in systems with ePHI is recorded and can be examined."),
			integrity(r, "hipaa/integrity", "164.312(c)(1)", "Records are protected from improper alteration."),
			review(r, "hipaa/activity-review", "164.308(a)(1)(ii)(D)", "Records of system activity are reviewed regularly."),
			retention(r, "hipaa/retention", "164.316(b)(2)(i)", "Required documentation is kept six years.", hipaaMinDays),
		}
	case ISO42001:
		return []Control{
			recording(r, "iso42001/event-logs", "A.6.2.8", "The AI system records event logs throughout its operation."),
			integrity(r, "iso42001/log-integrity", "A.6.2.8", "The event logs are protected against tampering."),
			attribution(r, "iso42001/traceability", "A.6.2.8", "Event logs identify who used the system."),
			safety(r, "iso42001/monitoring", "A.6.2.6", "The AI system's safety checks are monitored in operation."),
		}
	case GDPR:
		return []Control{
			minimisation(r, "gdpr/minimisation", "Art. 5(1)(c)", "Only what is needed is kept: hashes, keyed, rather than content."),
			limitation(r, "gdpr/storage-limitation", "Art. 5(1)(e)", "Personal data is kept no longer than needed: retention is bounded and enforced."),
			erasure(r, "gdpr/erasure", "Art. 17", "Entries can be erased on request, provably."),
		}
	}
	return nil
}

func ctl(id, ref, stmt string) Control {
	return Control{ID: id, Ref: ref, Statement: stmt, Figures: map[string]any{}}
}

func recording(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	cv := r.Coverage
	c.Figures = map[string]any{"entries": r.Population.Entries, "counted_only": r.Population.CountedOnly, "hours": cv.Hours, "hours_with_entries": cv.HoursWithEntry,
		"quiet_hours": cv.QuietHours, "silent_hours": cv.SilentHours, "unknown_hours": cv.UnknownHours}
	if !cv.Began.IsZero() {
		c.Figures["logging_began"] = cv.Began
	}
	switch {
	case r.Population.Entries == 0:
		c.Status, c.Next = NotEvidenced, "No entry in the period: check that the application logs through comply."
	case cv.SilentHours > 0:
		c.Status, c.Next = Fail, fmt.Sprintf("The logger was down %d hour(s) (see coverage.gaps): find why and keep it running.", cv.SilentHours)
	case !cv.Timeline:
		c.Status, c.Next = NotEvidenced, "Without a ledger and its verifier key, hours without entries cannot be told from downtime: run with a signing key."
	case cv.UnknownHours > 0:
		c.Status, c.Next = NotEvidenced, "Some hours have neither entries nor checkpoints: keep the writer's heartbeat on."
	default:
		c.Status, c.Next = Pass, "None."
	}
	return c
}

func integrity(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	g := r.Integrity
	c.Figures = map[string]any{"verified": g.Verified, "entries": g.Entries, "valid": g.Valid, "problems": len(g.Problems) + int(g.Omitted),
		"rewrapped": g.Rewrapped, "rewrites": len(g.Rewrites)}
	switch {
	case !r.Config.Ledger:
		c.Status, c.Next = NotEvidenced, "No ledger or no verifier key: write with a signing key and give the verifier key to the report."
	case !g.Verified:
		c.Status, c.Next = NotEvidenced, "Verify failed to run: "+g.Error
	case !g.OK:
		c.Status, c.Next = Fail, "Investigate the problems (integrity.problems): "+first(g.Problems)
		c.Figures["where"] = first(g.Problems)
	case g.Rewrapped > 0:
		c.Status, c.Next = Pass, fmt.Sprintf("%d entries were rewrapped under a new key, as %d signed rewrite record(s) say (integrity.rewrites): not tampering. Keep the verifier's trusted checkpoint outside the store.", g.Rewrapped, len(g.Rewrites))
	default:
		c.Status, c.Next = Pass, "Keep the verifier's trusted checkpoint outside the store, so that a rewritten history is caught."
	}
	return c
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

func attribution(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	a := r.Attribution
	c.Figures = map[string]any{"entries": a.Entries, "with_user_id": a.WithUser, "with_user_and_session_id": a.WithBoth,
		"user_share": a.UserShare, "schema_share": a.BothShare}
	switch {
	case a.Entries == 0:
		c.Status, c.Next = NotEvidenced, "No entry in the period."
	case a.WithBoth == a.Entries:
		c.Status, c.Next = Pass, "None."
	case a.WithUser == 0:
		c.Status, c.Next = Fail, "No entry names a user: pass user_id and session_id in the metadata."
	default:
		c.Status, c.Next = Fail, fmt.Sprintf("Partial: %d of %d entries lack user_id or session_id; pass both in the metadata.", a.Entries-a.WithBoth, a.Entries)
	}
	return c
}

func retention(r *Report, id, ref, stmt string, minDays int) Control {
	c := ctl(id, ref, stmt)
	rt := r.Retention
	c.Figures = map[string]any{"configured_days": rt.ConfiguredDays, "minimum_days": minDays, "oldest": rt.Oldest,
		"oldest_age_days": rt.OldestAgeDays, "deleted_by_policy": rt.DeletedPolicy, "deleted_other": rt.DeletedOther}
	switch {
	case rt.ConfiguredDays >= 0 && rt.ConfiguredDays < minDays:
		c.Status, c.Next = Fail, fmt.Sprintf("Retention is %d days; set it to at least %d.", rt.ConfiguredDays, minDays)
	case rt.DeletedOther > 0:
		c.Status, c.Next = Fail, "Entries are gone without a deletion record: see integrity.problems."
	case !rt.Evidenced:
		c.Status, c.Next = NotEvidenced, "Deletions cannot be told apart without a ledger: write with a signing key."
	case rt.Oldest.IsZero() || rt.OldestAgeDays < minDays:
		c.Status, c.Next = NotEvidenced, fmt.Sprintf("Not yet testable: the oldest entry is %d days old, the minimum is %d.", rt.OldestAgeDays, minDays)
		c.Figures["not_yet_testable"] = true
	default:
		c.Status, c.Next = Pass, "None."
	}
	return c
}

func limitation(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	rt := r.Retention
	c.Figures = map[string]any{"configured_days": rt.ConfiguredDays, "oldest_age_days": rt.OldestAgeDays, "deleted_by_policy": rt.DeletedPolicy}
	switch {
	case rt.ConfiguredDays < 0:
		c.Status, c.Next = Fail, "Entries are kept forever: set a retention period."
	case !rt.Oldest.IsZero() && rt.OldestAgeDays > rt.ConfiguredDays+2:
		c.Status, c.Next = Fail, "Entries older than the retention period remain: run comply cleanup daily."
	case rt.Oldest.IsZero():
		c.Status, c.Next = NotEvidenced, "The store is empty."
	default:
		c.Status, c.Next = Pass, "Document why the retention period is needed."
	}
	return c
}

func minimisation(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	a := r.Attribution
	levels, content := r.Policy.levels()
	c.Figures = map[string]any{"entries": a.Entries, "hash_only": a.HashOnly, "hash_only_share": a.HashOnlyShare,
		"keyed_hashes": a.KeyedHashes, "plain_hashes": a.PlainHashes, "unhashed": a.Unhashed, "counted_only": r.Population.CountedOnly,
		"policies": len(r.Policy.Periods)}
	if len(levels) > 0 {
		c.Figures["policy_levels"] = levels
	}
	if len(content) > 0 {
		c.Figures["content_rules"] = content
	}
	switch {
	case a.Entries == 0 && r.Population.CountedOnly == 0:
		c.Status, c.Next = NotEvidenced, "No entry in the period."
	case a.PlainHashes > 0:
		c.Status, c.Next = Fail, "Plain SHA-256 of a short prompt can be reversed by guessing: configure a hash key."
	case a.HashOnly < a.Entries && len(content) > 0:
		c.Status, c.Next = Manual, fmt.Sprintf("Content is stored (encrypted) under the policy's rules %s: document why it is needed.", strings.Join(content, ", "))
	case a.HashOnly < a.Entries:
		c.Status, c.Next = Manual, "Content is stored (encrypted): document why it is needed."
	case r.Population.CountedOnly > 0:
		c.Status, c.Next = Pass, fmt.Sprintf("None: %d interaction(s) were only counted (policy level none, policy.counted_only).", r.Population.CountedOnly)
	default:
		c.Status, c.Next = Pass, "None."
	}
	return c
}

// erasure is GDPR Art. 17: the period's erasures (crypto-shredding) and
// deletions on request, signed; Art. 17(3) noted when a legal hold kept
// the entries.
func erasure(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	er := r.Erasures
	c.Figures = map[string]any{"erasures": len(er.Erasures), "request_deletions": er.RequestDeletions, "legal_holds": er.LegalHolds,
		"unsigned": er.Unsigned, "deleted_by_policy": r.Retention.DeletedPolicy, "ledger": r.Config.Ledger}
	if er.LegalHolds > 0 {
		c.Figures["art_17_3"] = true
	}
	hold := ""
	if er.LegalHolds > 0 {
		hold = fmt.Sprintf(" %d erasure(s) under a legal hold: the entries are kept, their content unreadable (Art. 17(3) exception).", er.LegalHolds)
	}
	done := len(er.Erasures) > 0 || er.RequestDeletions > 0
	switch {
	case er.Error != "":
		c.Status, c.Next = Fail, "An erasure or deletion record cannot be read or does not verify: "+er.Error
	case !r.Config.Ledger && done:
		c.Status, c.Next = NotEvidenced, fmt.Sprintf("%d erasure(s) found, but without a ledger and its verifier key none is a signed record: write with a signing key.", len(er.Erasures))
	case !r.Config.Ledger:
		c.Status, c.Next = NotEvidenced, "Without a ledger an erasure leaves no signed record: write with a signing key."
	case !done:
		c.Status, c.Next = Manual, "No erasure requested in the period: manual — check the request log."
	case er.Unsigned > 0:
		c.Status, c.Next = NotEvidenced, fmt.Sprintf("%d erasure(s) have a tombstone but no signed record: the erasure did not finish; run it again.", er.Unsigned)
	case !r.Integrity.Verified:
		c.Status, c.Next = NotEvidenced, "The erasures are signed, but the ledger was not verified: "+r.Integrity.Error
	case !r.Integrity.OK:
		c.Status, c.Next = Fail, "The erasures are signed, but the ledger does not verify (integrity.problems)."
	default:
		c.Status, c.Next = Pass, fmt.Sprintf("Check each request of the period against erasures.erasures (%d erasure(s), %d entries deleted on request).%s",
			len(er.Erasures), er.RequestDeletions, hold)
	}
	return c
}

func access(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	ac := r.Access
	c.Figures = map[string]any{"records": ac.Records, "denied": ac.Denied, "readers": len(ac.Readers)}
	if !ac.Read {
		c.Status, c.Next = NotEvidenced, "The access log was not read: serve the store with comply serve, whose reads are recorded."
		return c
	}
	c.Status, c.Next = Pass, "Review the readers (access.readers) against who should have access."
	return c
}

func review(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	c.Figures = map[string]any{"access_records": r.Access.Records, "reviews": len(r.Reviews)}
	if n := len(r.Reviews); n > 0 {
		last := r.Reviews[n-1]
		c.Figures["last_reviewer"], c.Figures["last_review"] = last.Reviewer, last.Time
		c.Status, c.Next = Pass, "Review this report too, and record the review as a signed attestation."
		return c
	}
	c.Status, c.Next = Manual, "No review was recorded in the period: review this report and record the review as a signed attestation."
	return c
}

func incidents(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	n, overdue := len(r.Incidents.Candidates), 0
	for _, cd := range r.Incidents.Candidates {
		if cd.Overdue {
			overdue++
		}
	}
	c.Figures = map[string]any{"candidates": n, "overdue_15_days": overdue, "safety_failures": r.Safety.Failures}
	switch {
	case r.Population.Entries == 0:
		c.Status, c.Next = NotEvidenced, "No entry in the period."
	case n == 0:
		c.Status, c.Next = Pass, "None: no safety failure was flagged serious."
	default:
		c.Status, c.Next = Manual, fmt.Sprintf("Assess the %d candidate(s) (incidents.candidates) and report those that are serious incidents before their clocks run out.", n)
	}
	return c
}

func safety(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	s := r.Safety
	c.Figures = map[string]any{"failures": s.Failures, "block_rate": s.BlockRate, "change": s.Change, "detectors": len(s.ByDetector), "new_detectors": s.NewDetectors}
	if r.Population.Entries == 0 {
		c.Status, c.Next = NotEvidenced, "No entry in the period."
		return c
	}
	c.Status, c.Next = Pass, "Review the block rate's change and the detectors that never fired."
	return c
}

func sample(r *Report, id, ref, stmt string) Control {
	c := ctl(id, ref, stmt)
	s := r.Sample
	c.Figures = map[string]any{"seed": s.Seed, "size": s.Size, "sampled": len(s.Items), "proved": s.Proved}
	switch {
	case s.Size == 0:
		c.Status, c.Next = NotApplicable, "No sample was asked for: ask for a sample size to test the population."
	case len(s.Items) == 0:
		c.Status, c.Next = NotEvidenced, "No entry in the period."
	case s.Proved < len(s.Items):
		if !r.Config.Ledger {
			c.Status, c.Next = NotEvidenced, "No ledger: the sample has no inclusion proofs."
		} else {
			c.Status, c.Next = Fail, "Some sampled entries have no inclusion proof: see sample.items."
		}
	default:
		c.Status, c.Next = Pass, "Give the sample and its proofs to the auditor (comply evidence)."
	}
	return c
}
