package report

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/policy"
	"github.com/complyhq/comply/store"
	"github.com/complyhq/comply/subjectkey"
)

// erasures reads the period's erasures: the signed ledger records (with a
// ledger and its verifier key), the vault's tombstones, and the signed
// deletion records of entries deleted on request.
func (b *builder) erasures(ctx context.Context) error {
	er := &b.r.Erasures
	er.Erasures = []Erasure{}
	sc, ok := b.in.Logger.Store().(store.Sidecar)
	if !ok {
		return nil
	}
	p := b.r.Period
	signed := map[string]bool{} // hmac and time of the signed records
	if b.sst != nil {
		es, err := ledger.Erasures(ctx, b.sst, b.in.Verifiers, p.Start, p.End)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("report: erasures: %w", err)
			}
			er.Error = err.Error()
		}
		for _, e := range es {
			er.Erasures = append(er.Erasures, Erasure{Time: e.Time.UTC(), Subject: e.Subject, HMAC: e.HMAC, Reason: e.Reason, LegalHold: e.LegalHold, Signed: true})
			signed[e.HMAC+" "+e.KeyID] = true
		}
		n, err := b.requestDeletions(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("report: deletions: %w", err)
			}
			er.Error = cmp.Or(er.Error, err.Error())
		}
		er.RequestDeletions, er.Read = n, er.Error == ""
	}
	tombs, err := subjectkey.Erasures(ctx, sc, p.Start, p.End)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("report: erasures: %w", err)
		}
		er.Error = cmp.Or(er.Error, err.Error())
	}
	for _, t := range tombs {
		if !signed[t.HMAC+" "+t.KeyID] {
			er.Erasures = append(er.Erasures, Erasure{Time: t.Time.UTC(), Subject: t.Subject, HMAC: t.HMAC, Reason: t.Reason, LegalHold: t.LegalHold})
			er.Unsigned++
		}
	}
	slices.SortStableFunc(er.Erasures, func(x, y Erasure) int { return x.Time.Compare(y.Time) })
	for _, e := range er.Erasures {
		if e.LegalHold {
			er.LegalHolds++
		}
	}
	return nil
}

// requestDeletions counts the entries that the signed deletion records of
// reason request, written within the period, name.
func (b *builder) requestDeletions(ctx context.Context) (int64, error) {
	names, err := b.sst.ListBlobs(ctx, "ledger/")
	if err != nil {
		return 0, fmt.Errorf("list the ledger: %w", err)
	}
	known := note.VerifierList(b.in.Verifiers...)
	var n int64
	for _, name := range names {
		if !strings.Contains(name, "/deletions/") {
			continue
		}
		msg, err := b.sst.ReadBlob(ctx, name)
		if err != nil {
			return n, fmt.Errorf("deletion record %s: %w", name, err)
		}
		nt, err := note.Open(msg, known)
		if err != nil {
			return n, fmt.Errorf("deletion record %s: %w", name, err)
		}
		d, err := ledger.ParseDeletion(nt.Text)
		if err != nil {
			return n, fmt.Errorf("deletion record %s: %w", name, err)
		}
		if d.Reason == ledger.Request && !d.Time.Before(b.r.Period.Start) && !d.Time.After(b.r.Period.End) {
			n += int64(d.Count())
		}
	}
	return n, nil
}

// policies reads the signed policy records of every ledger, and the
// counts of the interactions that level none counted in the period.
func (b *builder) policies(ctx context.Context) error {
	pol := &b.r.Policy
	pol.Periods, pol.CountedOnly = []PolicyPeriod{}, []Count{}
	sc, ok := b.in.Logger.Store().(store.Sidecar)
	if !ok {
		return nil
	}
	p := b.r.Period
	cs, err := policy.ReadCounts(ctx, sc, p.Start, p.End)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("report: policy counts: %w", err)
		}
		pol.Error = err.Error()
	}
	by := map[string]int64{}
	for _, c := range cs {
		if !c.Hour.Before(p.Start.Truncate(time.Hour)) && !c.Hour.After(p.End) {
			by[c.Rule] += c.Count
			b.r.Population.CountedOnly += c.Count
		}
	}
	pol.CountedOnly = counts(by)
	if b.sst == nil {
		return nil
	}
	known := note.VerifierList(b.in.Verifiers...)
	for _, o := range b.origins {
		recs, err := ledger.Policies(ctx, b.sst, o, known)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("report: policy records: %w", err)
			}
			pol.Error = cmp.Or(pol.Error, err.Error())
			continue
		}
		pol.Periods = append(pol.Periods, policyPeriods(o, recs, p)...)
	}
	slices.SortStableFunc(pol.Periods, func(x, y PolicyPeriod) int {
		return cmp.Or(x.From.Compare(y.From), strings.Compare(x.Origin, y.Origin))
	})
	pol.Read = pol.Error == ""
	return nil
}

// policyPeriods returns the spans of p each of one ledger's policy
// records (in time order) covered: from its time, or p's start, to the
// next record's time, or p's end.
func policyPeriods(origin string, recs []ledger.PolicyRecord, p Period) []PolicyPeriod {
	var out []PolicyPeriod
	for i, rec := range recs {
		from, to := rec.Time.UTC(), p.End
		if i+1 < len(recs) {
			to = recs[i+1].Time.UTC()
		}
		if to.After(p.End) {
			to = p.End
		}
		if from.Before(p.Start) {
			from = p.Start
		}
		if to.Before(p.Start) || from.After(p.End) || i+1 < len(recs) && !to.After(from) {
			continue
		}
		pp := PolicyPeriod{Origin: origin, SHA256: rec.SHA256, From: from, To: to, Rules: []PolicyRule{}}
		pp.Rules, pp.Policy = policyRules(rec.Text)
		out = append(out, pp)
	}
	return out
}

// policyRules returns the rules of a policy record's text (the canonical
// JSON of policy.Policy.Text), the default last, and whether it is a
// policy ("null" is none: every interaction hashed).
func policyRules(text string) ([]PolicyRule, bool) {
	var pol *policy.Policy
	if err := json.Unmarshal([]byte(text), &pol); err != nil || pol == nil {
		return []PolicyRule{{Name: policy.DefaultRule, Level: string(policy.Hash)}}, false
	}
	out := make([]PolicyRule, 0, len(pol.Rules)+1)
	for _, r := range pol.Rules {
		out = append(out, PolicyRule{Name: r.Name, Level: string(cmp.Or(r.Level, pol.Default.Level, policy.Hash))})
	}
	return append(out, PolicyRule{Name: policy.DefaultRule, Level: string(cmp.Or(pol.Default.Level, policy.Hash))}), true
}

// levels returns the levels the period's policies log at, sorted, and the
// rules that store content (level encrypted).
func (pol *Policy) levels() (levels, content []string) {
	for _, pp := range pol.Periods {
		for _, r := range pp.Rules {
			if !slices.Contains(levels, r.Level) {
				levels = append(levels, r.Level)
			}
			if r.Level == string(policy.Encrypted) && !slices.Contains(content, r.Name) {
				content = append(content, r.Name)
			}
		}
	}
	slices.Sort(levels)
	slices.Sort(content)
	return levels, content
}
