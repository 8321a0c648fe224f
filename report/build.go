package report

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/evidence"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/store"
)

// ErrInput reports Inputs that Build cannot use.
var ErrInput = errors.New("report: invalid input")

// maxProblems bounds the integrity problems a report lists.
const maxProblems = 100

// Inputs are what Build reads.
type Inputs struct {
	// Logger reads the store (read-only is enough).
	Logger *comply.Logger
	// Verifiers are the ledger's verifier keys; none means the ledger's
	// evidence (checkpoints, timeline, integrity, proofs) is not used.
	Verifiers []note.Verifier
	// Access reads the access log; nil means it is not evidenced.
	Access func(ctx context.Context, q accesslog.Query) iter.Seq2[accesslog.Record, error]
	// Config is the store's configuration (RetentionDays, HashKey,
	// StoreContent; Build fills Ledger and AccessLog). A zero
	// RetentionDays is the Logger's (Logger.RetentionDays).
	Config Config
	// Frameworks lists the frameworks whose controls the report holds;
	// nil means all.
	Frameworks []string
	// Period is the range reported on, inclusive.
	Period Period
	// SampleSize entries are sampled, by Seed, for population testing.
	SampleSize int
	Seed       uint64
	// Serious lists the detectors and block reasons whose failures are
	// incident candidates, besides metadata "severity": "serious".
	Serious []string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// AtCheckpoint makes the report's time (Generated, and the clock of
	// its figures) the time of the checkpoint that covers the period's
	// end (Population.Checkpoint) instead of Now, when there is one: the
	// same store and period then give the same report, whenever it is
	// built (an evidence pack).
	AtCheckpoint bool
}

// Build computes the report of in.Period.
func Build(ctx context.Context, in Inputs) (*Report, error) {
	if in.Logger == nil {
		return nil, fmt.Errorf("%w: no logger", ErrInput)
	}
	if in.Period.Start.IsZero() || in.Period.End.IsZero() || in.Period.End.Before(in.Period.Start) {
		return nil, fmt.Errorf("%w: the period needs a start before its end", ErrInput)
	}
	if in.SampleSize < 0 {
		return nil, fmt.Errorf("%w: negative sample size", ErrInput)
	}
	fws := in.Frameworks
	if len(fws) == 0 {
		fws = Frameworks
	}
	for _, f := range fws {
		if !slices.Contains(Frameworks, f) {
			return nil, fmt.Errorf("%w: unknown framework %q (want %s)", ErrInput, f, strings.Join(Frameworks, ", "))
		}
	}
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	r := &Report{
		Version:    Version,
		Generated:  now().UTC(),
		Frameworks: fws,
		Period:     Period{Label: in.Period.Label, Start: in.Period.Start.UTC(), End: in.Period.End.UTC()},
		Config:     in.Config,
		Incidents:  Incidents{Rule: incidentRule(in.Serious), Candidates: []Candidate{}},
		Sample:     Sample{Seed: in.Seed, Size: in.SampleSize, Items: []SampleItem{}},
	}
	if r.Config.RetentionDays == 0 {
		r.Config.RetentionDays = in.Logger.RetentionDays()
	}
	b := &builder{in: in, r: r, now: r.Generated}
	sst, ok := in.Logger.Store().(store.SidecarStore)
	if ok && len(in.Verifiers) > 0 {
		origins, err := ledger.Origins(ctx, sst)
		if err != nil {
			return nil, fmt.Errorf("report: %w", err)
		}
		if len(origins) > 0 {
			b.sst, b.origins, r.Config.Ledger = sst, origins, true
		}
	}
	if err := b.population(ctx); err != nil {
		return nil, err
	}
	if cp := r.Population.Checkpoint; in.AtCheckpoint && cp != nil {
		r.Generated, b.now = cp.Time, cp.Time
	}
	steps := []func(context.Context) error{b.scan, b.previous, b.retention, b.coverage, b.integrity, b.access, b.sample, b.reviews, b.erasures, b.policies}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	r.Controls = controls(r)
	return r, nil
}

// A builder holds what the steps of Build share.
type builder struct {
	in      Inputs
	r       *Report
	now     time.Time
	sst     store.SidecarStore
	origins []string

	tally    *comply.Tally
	hours    map[int64]bool     // hours (since the epoch) with entries
	picked   []comply.Entry     // the sample's entries
	incident map[time.Time]bool // hours that may hold incident candidates
	// proved holds, by entry id, the sample's proofs that the integrity
	// check made in its pass over the ledgers' trees (nil if it did not
	// run).
	proved map[string]*ledger.Proof
}

// isAttestation says whether a provider and model are those of a review
// attestation (package evidence): a review of a report, not the AI
// system's activity, so not counted among the period's entries.
func isAttestation(provider, model string) bool {
	return provider == evidence.AttestationProvider && model == evidence.AttestationModel
}

// scan reads the period's figures from the rollups (population, safety,
// attribution), then reads only the hours it must: the first and the
// last (the first and last entries' times), those whose rollup shows a
// failure that may be an incident candidate, and those holding the
// sample's positions.
func (b *builder) scan(ctx context.Context) error {
	r := b.r
	t, err := b.in.Logger.Tally(ctx, r.Period.Start, r.Period.End, isAttestation)
	if err != nil {
		return fmt.Errorf("report: read the rollups: %w", err)
	}
	b.tally, b.hours = t, map[int64]bool{}
	a, s := &r.Attribution, &r.Safety
	days := map[string]bool{}
	for _, h := range t.Hours {
		b.hours[h.Start.Unix()/3600] = true
		days[h.Start.Format(time.DateOnly)] = true
		r.Population.Entries += h.Entries
		s.Failures += h.SafetyFailures
		a.WithUser += h.WithUser
		a.WithBoth += h.WithBoth
		a.HashOnly += h.HashOnly
		a.KeyedHashes += h.Keyed
		a.Unhashed += h.Unhashed
	}
	a.Entries = r.Population.Entries
	a.PlainHashes = a.Entries - a.KeyedHashes - a.Unhashed
	a.UserShare, a.BothShare, a.HashOnlyShare = share(a.WithUser, a.Entries), share(a.WithBoth, a.Entries), share(a.HashOnly, a.Entries)
	detectors, reasons := map[string]int64{}, map[string]int64{}
	detDays := map[string]map[string]bool{}
	for _, d := range t.Detectors {
		detectors[d.Name] += d.Entries
		if detDays[d.Name] == nil {
			detDays[d.Name] = map[string]bool{}
		}
		detDays[d.Name][d.Start.Format(time.DateOnly)] = true
	}
	for _, rs := range t.Reasons {
		reasons[rs.Name] += rs.Entries
	}
	s.BlockRate = share(s.Failures, r.Population.Entries)
	s.ByDetector, s.ByReason = counts(detectors), counts(reasons)
	s.SilentDays = map[string][]string{}
	sorted := sortedKeys(days)
	for d, fired := range detDays {
		for _, day := range sorted {
			if !fired[day] {
				s.SilentDays[d] = append(s.SilentDays[d], day)
			}
		}
	}
	b.incident = b.incidentHours()
	return b.readHours(ctx)
}

// readHours reads what the rollups do not hold: the incident candidates,
// from the hours whose rollup shows a failure that may be one, and the
// sample's entries, by id.
func (b *builder) readHours(ctx context.Context) error {
	t, r := b.tally, b.r
	if len(t.Hours) == 0 {
		return nil
	}
	r.Population.First, r.Population.Last = t.Hours[0].First, t.Hours[0].Last
	for _, h := range t.Hours {
		if h.First.Before(r.Population.First) {
			r.Population.First = h.First
		}
		if h.Last.After(r.Population.Last) {
			r.Population.Last = h.Last
		}
	}
	for _, h := range t.Hours {
		if b.incident[h.Start] {
			if err := b.readHour(ctx, h.Start); err != nil {
				return err
			}
		}
	}
	return b.draw(ctx)
}

// draw draws the sample: SampleSize positions of the period's entries,
// uniform and distinct, by Seed; the number that falls in each hour is
// taken from the hour's pool (a uniform random subset of it) in an order
// shuffled by the same generator, each entry read by its id.
func (b *builder) draw(ctx context.Context) error {
	t, r := b.tally, b.r
	rng := rand.New(rand.NewPCG(b.in.Seed, b.in.Seed^0x9e3779b97f4a7c15))
	positions := samplePositions(rng, r.Population.Entries, b.in.SampleSize)
	var before int64
	for _, h := range t.Hours {
		var want int
		for len(positions) > 0 && positions[0] < before+h.Entries {
			want++
			positions = positions[1:]
		}
		before += h.Entries
		if want == 0 {
			continue
		}
		pool := slices.Clone(h.Pool)
		rng.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
		for _, id := range pool {
			if want == 0 {
				break
			}
			e, err := b.in.Logger.Get(ctx, id)
			if err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("report: sample: %w", err)
				}
				continue // deleted since the rollup was built, or damaged
			}
			if isAttestation(e.Provider, e.Model) || !e.Timestamp.Before(h.Start.Add(time.Hour)) || e.Timestamp.Before(h.Start) ||
				e.Timestamp.Before(r.Period.Start) || e.Timestamp.After(r.Period.End) {
				continue
			}
			b.picked = append(b.picked, e)
			want--
		}
	}
	return nil
}

// incidentHours returns the hours whose rollup shows a safety failure
// that may be a candidate: one flagged serious, or one of a detector or
// block reason that Inputs.Serious names.
func (b *builder) incidentHours() map[time.Time]bool {
	out := map[time.Time]bool{}
	for _, h := range b.tally.Hours {
		if h.SeriousFailures > 0 {
			out[h.Start] = true
		}
	}
	for _, list := range [][]comply.NameTally{b.tally.Detectors, b.tally.Reasons} {
		for _, d := range list {
			if d.SafetyFailures > 0 && slices.Contains(b.in.Serious, d.Name) {
				out[d.Start] = true
			}
		}
	}
	return out
}

// readHour reads the period's entries within the hour that starts at h
// for incident candidates.
func (b *builder) readHour(ctx context.Context, h time.Time) error {
	r := b.r
	from, to := h, h.Add(time.Hour-time.Nanosecond)
	if from.Before(r.Period.Start) {
		from = r.Period.Start
	}
	if to.After(r.Period.End) {
		to = r.Period.End
	}
	for e, err := range b.in.Logger.Entries(ctx, from, to) {
		if err != nil {
			var ce *store.CorruptionError
			if errors.As(err, &ce) {
				continue // Verify reports it
			}
			return fmt.Errorf("report: read entries: %w", err)
		}
		if !e.SafetyPassed && !isAttestation(e.Provider, e.Model) && (metaOf(e.Metadata).serious || b.serious(e)) {
			c := Candidate{ID: e.ID, Time: e.Timestamp.UTC(), Detectors: e.DetectorsTriggered, Reason: e.BlockReason}
			c.Due2, c.Due10, c.Due15 = c.Time.AddDate(0, 0, 2), c.Time.AddDate(0, 0, 10), c.Time.AddDate(0, 0, 15)
			c.Overdue = b.now.After(c.Due15)
			r.Incidents.Candidates = append(r.Incidents.Candidates, c)
		}
	}
	return nil
}

// samplePositions draws n distinct positions of a population of size
// entries (all of them if n >= size), ascending: Floyd's algorithm over
// rng.
func samplePositions(rng *rand.Rand, size int64, n int) []int64 {
	if n <= 0 || size <= 0 {
		return nil
	}
	if int64(n) >= size {
		out := make([]int64, size)
		for i := range out {
			out[i] = int64(i)
		}
		return out
	}
	chosen := make(map[int64]bool, n)
	for j := size - int64(n); j < size; j++ {
		if t := rng.Int64N(j + 1); chosen[t] {
			chosen[j] = true
		} else {
			chosen[t] = true
		}
	}
	out := make([]int64, 0, n)
	for p := range chosen {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

func (b *builder) serious(e comply.Entry) bool {
	for _, s := range b.in.Serious {
		if s == e.BlockReason || slices.Contains(e.DetectorsTriggered, s) {
			return true
		}
	}
	return false
}

// previous reads the previous period of the same length from the
// rollups: its block rate and the detectors that fired in it.
func (b *builder) previous(ctx context.Context) error {
	r := b.r
	length := r.Period.End.Sub(r.Period.Start)
	end := r.Period.Start.Add(-time.Nanosecond)
	start := end.Add(-length)
	buckets, err := b.in.Logger.Timeseries(ctx, comply.TimeseriesQuery{Start: start, End: end, Step: 24 * time.Hour})
	if err != nil {
		return fmt.Errorf("report: previous period: %w", err)
	}
	var entries, failures int64
	for _, bk := range buckets {
		entries, failures = entries+bk.Entries, failures+bk.SafetyFailures
	}
	byDet, err := b.in.Logger.Timeseries(ctx, comply.TimeseriesQuery{Start: start, End: end, Step: 24 * time.Hour, GroupBy: comply.GroupByDetector})
	if err != nil {
		return fmt.Errorf("report: previous period: %w", err)
	}
	before := map[string]bool{}
	for _, bk := range byDet {
		if bk.Entries > 0 {
			before[bk.Group] = true
		}
	}
	s := &r.Safety
	s.PreviousEntries, s.PreviousRate = entries, share(failures, entries)
	s.Change = s.BlockRate - s.PreviousRate
	s.NewDetectors = []string{}
	for _, d := range s.ByDetector {
		if !before[d.Name] {
			s.NewDetectors = append(s.NewDetectors, d.Name)
		}
	}
	return nil
}

// population finds the checkpoint that covers the period's end.
func (b *builder) population(ctx context.Context) error {
	if b.sst == nil {
		return nil
	}
	known := note.VerifierList(b.in.Verifiers...)
	var best *ledger.Checkpoint
	var bestNote string
	for _, o := range b.origins {
		cps, err := ledger.History(ctx, b.sst, o, known, b.r.Period.End, time.Time{})
		if err != nil {
			return fmt.Errorf("report: %w", err)
		}
		if len(cps) == 0 {
			// The period ends after the newest checkpoint: take the newest.
			if cps, err = ledger.History(ctx, b.sst, o, known, b.r.Period.Start, time.Time{}); err != nil {
				return fmt.Errorf("report: %w", err)
			}
			if len(cps) == 0 {
				continue
			}
			cps = cps[len(cps)-1:]
		}
		if c := cps[0]; best == nil || c.Size > best.Size {
			best, bestNote = c, c.Text()
		}
	}
	if best != nil {
		b.r.Population.Checkpoint = &CheckpointRef{Origin: best.Origin, Size: best.Size, Root: best.Root, Time: best.Time.UTC(), Note: bestNote}
	}
	return nil
}

// coverage classifies the period's hours.
func (b *builder) coverage(ctx context.Context) error {
	r := b.r
	c := &r.Coverage
	c.Gaps = []ledger.Span{}
	end := r.Period.End
	if b.now.Before(end) {
		end = b.now
	}
	first, last := r.Period.Start.Unix()/3600, end.Unix()/3600
	if end.Before(r.Period.Start) {
		return nil
	}
	began, err := b.began(ctx)
	if err != nil {
		return err
	}
	if h := began.Unix() / 3600; !began.IsZero() && h > first {
		// The system did not exist yet: those hours are no gap.
		first, c.Began = h, began.UTC()
	}
	var spans []ledger.Span
	if b.sst != nil {
		known := note.VerifierList(b.in.Verifiers...)
		for _, o := range b.origins {
			// A day before the start, to know the state the period opens in.
			cps, err := ledger.History(ctx, b.sst, o, known, r.Period.Start.Add(-24*time.Hour), r.Period.End)
			if err != nil {
				return fmt.Errorf("report: %w", err)
			}
			var now time.Time
			if !b.now.After(r.Period.End) || b.now.Sub(r.Period.End) < time.Hour {
				now = b.now
			}
			spans = append(spans, ledger.Timeline(cps, now)...)
		}
		c.Timeline = true
	}
	for _, sp := range spans {
		if sp.State == ledger.SpanDown && sp.To.After(r.Period.Start) && !sp.From.After(r.Period.End) {
			c.Gaps = append(c.Gaps, sp)
		}
	}
	for h := first; h <= last; h++ {
		c.Hours++
		if b.hours[h] {
			c.HoursWithEntry++
			continue
		}
		from, to := time.Unix(h*3600, 0), time.Unix((h+1)*3600, 0)
		state := ""
		for _, sp := range spans {
			if sp.From.Before(to) && sp.To.After(from) {
				if sp.State == ledger.SpanDown {
					state = ledger.SpanDown
					break
				}
				state = ledger.SpanIdle
			}
		}
		switch state {
		case ledger.SpanDown:
			c.SilentHours++
		case "":
			c.UnknownHours++
		default:
			c.QuietHours++
		}
	}
	return nil
}

// began returns when logging began, if after the period's start: the
// earliest of the store's oldest entry, the period's first entry and the
// ledger's first checkpoint; zero if the system existed at the start.
func (b *builder) began(ctx context.Context) (time.Time, error) {
	r := b.r
	var t time.Time
	earlier := func(x time.Time) {
		if !x.IsZero() && (t.IsZero() || x.Before(t)) {
			t = x
		}
	}
	earlier(r.Retention.Oldest)
	earlier(r.Population.First)
	if !t.IsZero() && !t.After(r.Period.Start) {
		return time.Time{}, nil
	}
	if b.sst != nil {
		known := note.VerifierList(b.in.Verifiers...)
		for _, o := range b.origins {
			cps, err := ledger.History(ctx, b.sst, o, known, time.Time{}, r.Period.End)
			if err != nil {
				return time.Time{}, fmt.Errorf("report: %w", err)
			}
			if len(cps) > 0 {
				earlier(cps[0].Time)
			}
		}
	}
	if !t.IsZero() && !t.After(r.Period.Start) {
		return time.Time{}, nil
	}
	return t, nil
}

// integrity runs ledger.Verify over the store, scoped to the period: the
// ledgers' checkpoints, leaves and history whole, the lines of the period
// only (a signed entry stamped outside it is not missing when absent).
// The deletions by policy are the ledgers' whole count. The same pass
// over the ledgers' trees proves the sampled entries.
func (b *builder) integrity(ctx context.Context) error {
	if b.sst == nil {
		return nil
	}
	g := &b.r.Integrity
	g.Problems = []string{}
	recs, err := b.pickedRecords(ctx)
	if err != nil {
		return err
	}
	rep, err := ledger.Verify(ctx, b.sst, &ledger.VerifyOptions{Verifiers: b.in.Verifiers, Now: func() time.Time { return b.now }, MaxProblems: maxProblems,
		Start: b.r.Period.Start, End: b.r.Period.End, Prove: recs})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("report: verify: %w", err)
		}
		g.Error = err.Error()
		return nil
	}
	b.proved = map[string]*ledger.Proof{}
	for i, p := range rep.Proofs {
		if p != nil {
			b.proved[b.picked[i].ID] = p
		}
	}
	g.Verified, g.OK, g.Summary, g.Entries, g.Valid, g.Omitted = true, rep.OK(), rep.Summary(), rep.Entries, rep.Valid, rep.Omitted
	g.Rewrapped, g.Rewrites = rep.Rewrapped, append([]ledger.RewriteReport{}, rep.Rewrites...)
	if rep.Scope != nil {
		g.Scope = "period"
	}
	for _, p := range rep.Problems {
		g.Problems = append(g.Problems, p.String())
		switch p.Kind {
		case ledger.Missing, ledger.Truncated, ledger.FileDeleted:
			b.r.Retention.DeletedOther += p.Count
		}
	}
	b.r.Retention.DeletedPolicy, b.r.Retention.Evidenced = rep.Deleted, true
	return nil
}

// retention finds the store's oldest entry.
func (b *builder) retention(ctx context.Context) error {
	rt := &b.r.Retention
	rt.ConfiguredDays = b.r.Config.RetentionDays
	if rt.ConfiguredDays < 0 {
		rt.ConfiguredDays = -1
	}
	for e, err := range b.in.Logger.Entries(ctx, time.Time{}, time.Time{}) {
		if err != nil {
			var ce *store.CorruptionError
			if errors.As(err, &ce) {
				continue
			}
			return fmt.Errorf("report: oldest entry: %w", err)
		}
		rt.Oldest = e.Timestamp.UTC()
		rt.OldestAgeDays = int(b.now.Sub(rt.Oldest) / (24 * time.Hour))
		break
	}
	return nil
}

// access reads the access log of the period.
func (b *builder) access(ctx context.Context) error {
	ac := &b.r.Access
	ac.Readers = []Reader{}
	if b.in.Access == nil {
		return nil
	}
	by := map[string]*Reader{}
	for rec, err := range b.in.Access(ctx, accesslog.Query{Start: b.r.Period.Start, End: b.r.Period.End}) {
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("report: access log: %w", err)
			}
			ac.Error = err.Error()
			break
		}
		ac.Records++
		name := cmp.Or(rec.Token, "(none)")
		rd := by[name]
		if rd == nil {
			rd = &Reader{Token: name, Role: rec.Role}
			by[name] = rd
		}
		switch {
		case rec.Denied:
			ac.Denied++
			rd.Denied++
		case strings.Contains(rec.Route, "decrypt"):
			rd.Decrypts++
		case strings.Contains(rec.Route, "export") || rec.Route == "GET /v1/entries":
			rd.Exports++
		default:
			rd.Reads++
		}
	}
	ac.Read = ac.Error == ""
	b.r.Config.AccessLog = ac.Read
	for _, k := range sortedKeys(by) {
		ac.Readers = append(ac.Readers, *by[k])
	}
	return nil
}

// sample proves the sampled entries, in time order: against each
// ledger's newest checkpoint, reading its leaves once for all of them
// (ledger.ProveAt); an entry none proves is proved alone (ledger.Prove),
// which says why it cannot be.
func (b *builder) sample(ctx context.Context) error {
	s := &b.r.Sample
	slices.SortFunc(b.picked, func(x, y comply.Entry) int {
		return cmp.Or(x.Timestamp.Compare(y.Timestamp), strings.Compare(x.ID, y.ID))
	})
	proofs, err := b.proveAll(ctx)
	if err != nil {
		return err
	}
	for i, e := range b.picked {
		it := SampleItem{ID: e.ID, Time: e.Timestamp.UTC()}
		p := proofs[i]
		if b.sst == nil {
			it.Error = "no ledger"
		} else if p == nil {
			if p, err = ledger.Prove(ctx, b.sst, e.ID); err != nil {
				if ctx.Err() != nil {
					return fmt.Errorf("report: prove: %w", err)
				}
				it.Error = err.Error()
			}
		}
		if p != nil {
			if j, err := p.Marshal(); err != nil {
				it.Error = err.Error()
			} else {
				it.Proof = json.RawMessage(j)
				s.Proved++
			}
		}
		s.Items = append(s.Items, it)
	}
	return nil
}

// pickedRecords returns the stored records of the sampled entries, in
// b.picked's order; an empty one for an entry that cannot be read (proved
// alone, which reports it).
func (b *builder) pickedRecords(ctx context.Context) ([]store.Record, error) {
	recs := make([]store.Record, len(b.picked))
	for i, e := range b.picked {
		rec, err := b.sst.Get(ctx, e.ID)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("report: prove: %w", err)
			}
			continue
		}
		recs[i] = rec
	}
	return recs, nil
}

// proveAll returns the proofs of the sampled entries (in b.picked's
// order) against the ledgers' newest checkpoints: those the integrity
// check made, else from one pass over each ledger (ledger.ProveAt); nil
// for those it could not prove so.
func (b *builder) proveAll(ctx context.Context) ([]*ledger.Proof, error) {
	out := make([]*ledger.Proof, len(b.picked))
	if b.sst == nil || len(b.picked) == 0 {
		return out, nil
	}
	if b.proved != nil {
		for i, e := range b.picked {
			out[i] = b.proved[e.ID]
		}
		return out, nil
	}
	recs, err := b.pickedRecords(ctx)
	if err != nil {
		return nil, err
	}
	known := note.VerifierList(b.in.Verifiers...)
	for _, o := range b.origins {
		cps, err := ledger.SignedHistory(ctx, b.sst, o, known, time.Time{}, time.Time{})
		if err != nil || len(cps) == 0 {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("report: prove: %w", ctx.Err())
			}
			continue
		}
		ps, err := ledger.ProveAt(ctx, b.sst, cps[len(cps)-1], recs)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("report: prove: %w", err)
			}
			continue // tampered leaves: proved alone, which reports it
		}
		for i, p := range ps {
			if out[i] == nil && p != nil && len(recs[i].Line) > 0 {
				out[i] = p
			}
		}
	}
	return out, nil
}

// meta is what a report reads of an entry's metadata.
type meta struct{ user, session, serious bool }

var (
	userKey     = []byte(`"user_id"`)
	sessionKey  = []byte(`"session_id"`)
	severityKey = []byte(`"severity"`)
)

// reviews lists the attestations recorded within the period: it reads
// only the hours whose rollup holds entries of an attestation's provider
// and model.
func (b *builder) reviews(ctx context.Context) error {
	var as []evidence.Attestation
	for _, h := range b.tally.Skipped {
		from, to := h, h.Add(time.Hour-time.Nanosecond)
		if from.Before(b.r.Period.Start) {
			from = b.r.Period.Start
		}
		if to.After(b.r.Period.End) {
			to = b.r.Period.End
		}
		got, err := evidence.Attestations(ctx, b.in.Logger, from, to)
		if err != nil {
			return fmt.Errorf("report: attestations: %w", err)
		}
		as = append(as, got...)
	}
	b.r.Reviews = make([]Review, 0, len(as))
	for _, a := range as {
		b.r.Reviews = append(b.r.Reviews, Review{ID: a.ID, Time: a.Time.UTC(), Reviewer: a.Reviewer, Period: a.Period, ReportSHA256: a.ReportSHA256, Note: a.Note})
	}
	return nil
}

func metaOf(md json.RawMessage) meta {
	var out meta
	if !bytes.Contains(md, userKey) && !bytes.Contains(md, sessionKey) && !bytes.Contains(md, severityKey) {
		return out
	}
	var m struct {
		User     any `json:"user_id"`
		Session  any `json:"session_id"`
		Severity any `json:"severity"`
	}
	if json.Unmarshal(md, &m) != nil {
		return out
	}
	out.user, out.session = present(m.User), present(m.Session)
	sev, _ := m.Severity.(string)
	out.serious = strings.EqualFold(sev, "serious")
	return out
}

// present says whether a metadata value names something.
func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return strings.TrimSpace(v) != ""
	default:
		return true
	}
}

func share(n, of int64) float64 {
	if of == 0 {
		return 0
	}
	return float64(n) / float64(of)
}

func counts(m map[string]int64) []Count {
	out := []Count{}
	for k, v := range m {
		out = append(out, Count{Name: k, Entries: v})
	}
	slices.SortFunc(out, func(a, b Count) int {
		return cmp.Or(cmp.Compare(b.Entries, a.Entries), strings.Compare(a.Name, b.Name))
	})
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func incidentRule(serious []string) string {
	rule := `a safety failure whose metadata says "severity": "serious"`
	if len(serious) > 0 {
		rule += ", or whose detector or block reason is one of " + strings.Join(serious, ", ")
	}
	return rule
}
