package report

import (
	"fmt"
	"html/template"
	"io"
	"slices"
	"strings"
	"time"
)

// WriteMarkdown writes r as a Markdown document: the controls table, then
// the evidence.
func WriteMarkdown(w io.Writer, r *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Compliance report %s\n\n", periodName(r))
	fmt.Fprintf(&b, "Generated %s; frameworks: %s. Report format version %d.\n\n", r.Generated.Format("2006-01-02 15:04 MST"), strings.Join(r.Frameworks, ", "), r.Version)
	b.WriteString("## Controls\n\n| Framework | Ref | Statement | Status | Figures | Next |\n|---|---|---|---|---|---|\n")
	for _, c := range r.Controls {
		fmt.Fprintf(&b, "| %s | %s | %s | **%s** | %s | %s |\n", md(c.Framework), md(c.Ref), md(c.Statement), c.Status, md(figures(c.Figures)), md(c.Next))
	}
	p := r.Population
	fmt.Fprintf(&b, "\n## Evidence\n\n- Population: %d entries (and %d interactions counted only, policy level none), first %s, last %s.\n", p.Entries, p.CountedOnly, p.First.Format(timeFmt), p.Last.Format(timeFmt))
	if p.Checkpoint != nil {
		fmt.Fprintf(&b, "- Checkpoint covering the period end: %s size %d at %s, root %x.\n", md(p.Checkpoint.Origin), p.Checkpoint.Size, p.Checkpoint.Time.Format(timeFmt), p.Checkpoint.Root)
	}
	cv := r.Coverage
	fmt.Fprintf(&b, "- Coverage: %d hours, %d with entries, %d quiet, %d silent (logger down), %d unknown.\n", cv.Hours, cv.HoursWithEntry, cv.QuietHours, cv.SilentHours, cv.UnknownHours)
	if !cv.Began.IsZero() {
		fmt.Fprintf(&b, "- Logging began at %s: the hours before are not counted.\n", cv.Began.Format(time.RFC3339))
	}
	fmt.Fprintf(&b, "- Integrity: %s.\n", md(orText(r.Integrity.Summary, "not verified")))
	for _, pr := range r.Integrity.Problems {
		fmt.Fprintf(&b, "  - %s\n", md(pr))
	}
	for _, w := range r.Integrity.Rewrites {
		fmt.Fprintf(&b, "  - %s\n", md(w.String()))
	}
	fmt.Fprintf(&b, "- Retention: configured %d days, oldest entry %s, %d deleted by policy, %d otherwise.\n", r.Retention.ConfiguredDays, r.Retention.Oldest.Format(timeFmt), r.Retention.DeletedPolicy, r.Retention.DeletedOther)
	fmt.Fprintf(&b, "- Safety: %d failures, block rate %.4f (previous %.4f).\n", r.Safety.Failures, r.Safety.BlockRate, r.Safety.PreviousRate)
	a := r.Attribution
	fmt.Fprintf(&b, "- Attribution: %.1f%% with user_id, %.1f%% with user_id and session_id, %.1f%% hash-only, %d keyed and %d plain hashes.\n", 100*a.UserShare, 100*a.BothShare, 100*a.HashOnlyShare, a.KeyedHashes, a.PlainHashes)
	fmt.Fprintf(&b, "- Access: %d records, %d denied, %d readers.\n", r.Access.Records, r.Access.Denied, len(r.Access.Readers))
	fmt.Fprintf(&b, "- Incident candidates (%s): %d.\n", md(r.Incidents.Rule), len(r.Incidents.Candidates))
	fmt.Fprintf(&b, "- Sample (seed %d): %d entries, %d with inclusion proofs.\n", r.Sample.Seed, len(r.Sample.Items), r.Sample.Proved)
	writeRecords(&b, r)
	_, err := io.WriteString(w, b.String())
	if err != nil {
		return fmt.Errorf("report: write markdown: %w", err)
	}
	return nil
}

// writeRecords writes the erasures and the policies of r.
func writeRecords(b *strings.Builder, r *Report) {
	er := r.Erasures
	fmt.Fprintf(b, "- Erasures (GDPR Art. 17): %d, %d under a legal hold (Art. 17(3)), %d without a signed record; %d entries deleted on request.\n",
		len(er.Erasures), er.LegalHolds, er.Unsigned, er.RequestDeletions)
	for _, e := range er.Erasures {
		fmt.Fprintf(b, "  - %s: %s hmac %s, %s, legal hold %t, signed %t\n", e.Time.Format(timeFmt), md(e.Subject), md(e.HMAC), md(e.Reason), e.LegalHold, e.Signed)
	}
	fmt.Fprintf(b, "- Policies: %d in force in the period.\n", len(r.Policy.Periods))
	for _, pp := range r.Policy.Periods {
		rules := make([]string, 0, len(pp.Rules))
		for _, rl := range pp.Rules {
			rules = append(rules, rl.Name+"="+rl.Level)
		}
		fmt.Fprintf(b, "  - %s to %s: sha256 %s (%s)\n", pp.From.Format(timeFmt), pp.To.Format(timeFmt), pp.SHA256, md(strings.Join(rules, ", ")))
	}
	for _, c := range r.Policy.CountedOnly {
		fmt.Fprintf(b, "  - counted only by rule %s: %d\n", md(c.Name), c.Entries)
	}
}

const timeFmt = "2006-01-02T15:04:05Z07:00"

func periodName(r *Report) string {
	if r.Period.Label != "" {
		return r.Period.Label
	}
	return r.Period.Start.Format(timeFmt) + " to " + r.Period.End.Format(timeFmt)
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// md escapes text for a Markdown table cell.
func md(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func figures(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{"figures": figures, "period": periodName}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Compliance report {{period .}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}
.pass{color:#060}.fail{color:#b00;font-weight:bold}.not_evidenced{color:#a60}.manual{color:#036}.not_applicable{color:#777}
</style></head><body>
<h1>Compliance report {{period .}}</h1>
<p>Generated {{.Generated}}; frameworks: {{range $i, $f := .Frameworks}}{{if $i}}, {{end}}{{$f}}{{end}}. Format version {{.Version}}.</p>
<h2>Controls</h2>
<table><tr><th>Framework</th><th>Ref</th><th>Statement</th><th>Status</th><th>Figures</th><th>Next</th></tr>
{{range .Controls}}<tr><td>{{.Framework}}</td><td>{{.Ref}}</td><td>{{.Statement}}</td><td class="{{.Status}}">{{.Status}}</td><td>{{figures .Figures}}</td><td>{{.Next}}</td></tr>
{{end}}</table>
<h2>Evidence</h2>
<ul>
<li>Population: {{.Population.Entries}} entries ({{.Population.CountedOnly}} interactions counted only, policy level none), first {{.Population.First}}, last {{.Population.Last}}{{with .Population.Checkpoint}}; checkpoint {{.Origin}} size {{.Size}} at {{.Time}}{{end}}.</li>
<li>Coverage: {{.Coverage.Hours}} hours, {{.Coverage.HoursWithEntry}} with entries, {{.Coverage.QuietHours}} quiet, {{.Coverage.SilentHours}} silent, {{.Coverage.UnknownHours}} unknown.</li>
{{- if not .Coverage.Began.IsZero}}
<li>Logging began at {{.Coverage.Began.Format "2006-01-02T15:04:05Z07:00"}}: the hours before are not counted.</li>
{{- end}}
<li>Integrity: {{if .Integrity.Verified}}{{.Integrity.Summary}}{{else}}not verified{{end}}{{range .Integrity.Problems}}<br>{{.}}{{end}}{{range .Integrity.Rewrites}}<br>{{.String}}{{end}}</li>
<li>Retention: configured {{.Retention.ConfiguredDays}} days; oldest entry {{.Retention.Oldest}}; {{.Retention.DeletedPolicy}} deleted by policy, {{.Retention.DeletedOther}} otherwise.</li>
<li>Safety: {{.Safety.Failures}} failures, block rate {{printf "%.4f" .Safety.BlockRate}} (previous {{printf "%.4f" .Safety.PreviousRate}}).</li>
<li>Attribution: {{.Attribution.WithUser}} of {{.Attribution.Entries}} with user_id, {{.Attribution.WithBoth}} with user_id and session_id, {{.Attribution.HashOnly}} hash-only.</li>
<li>Access: {{.Access.Records}} records, {{.Access.Denied}} denied.</li>
<li>Incident candidates: {{len .Incidents.Candidates}} ({{.Incidents.Rule}}).</li>
<li>Sample (seed {{.Sample.Seed}}): {{len .Sample.Items}} entries, {{.Sample.Proved}} proved.</li>
<li>Erasures (GDPR Art. 17): {{len .Erasures.Erasures}}, {{.Erasures.LegalHolds}} under a legal hold (Art. 17(3)); {{.Erasures.RequestDeletions}} entries deleted on request.{{range .Erasures.Erasures}}<br>{{.Time.Format "2006-01-02T15:04:05Z07:00"}} {{.Subject}} hmac {{.HMAC}}: {{.Reason}}{{if .LegalHold}} (legal hold){{end}}{{if not .Signed}} (no signed record){{end}}{{end}}</li>
<li>Policies: {{len .Policy.Periods}} in force.{{range .Policy.Periods}}<br>{{.From.Format "2006-01-02T15:04:05Z07:00"}} to {{.To.Format "2006-01-02T15:04:05Z07:00"}}: {{.SHA256}} ({{range $i, $r := .Rules}}{{if $i}}, {{end}}{{$r.Name}}={{$r.Level}}{{end}}){{end}}{{range .Policy.CountedOnly}}<br>counted only by rule {{.Name}}: {{.Entries}}{{end}}</li>
</ul></body></html>
`))

// WriteHTML writes r as one self-contained HTML page: no external
// resource, no script.
func WriteHTML(w io.Writer, r *Report) error {
	if err := page.Execute(w, r); err != nil {
		return fmt.Errorf("report: write html: %w", err)
	}
	return nil
}
