package ledger

import (
	"fmt"
	"strings"
	"time"
)

// A Kind is what Verify found wrong, in the plain words a report uses.
type Kind int

const (
	// Entry-level findings.
	Modified  Kind = iota + 1 // a line differs from the entry the ledger signed in its place
	Missing                   // signed entries are gone from a file, and no deletion record explains it
	Inserted                  // a line the ledger never signed
	Reordered                 // a signed entry is out of its write order
	Truncated                 // the last entries of a file are gone
	// File-level.
	FileDeleted // every entry of a file is gone, and the file with them
	// Ledger-level.
	BadSignature  // a checkpoint or deletion record whose signature a known key rejects
	UnknownKey    // a checkpoint or deletion record signed by no key the verifier knows
	Malformed     // integrity data that cannot be read
	Forged        // the leaves kept beside the files do not produce the root a checkpoint signed
	RolledBack    // the log is older (smaller) than a checkpoint trusted before
	Inconsistent  // the log's history differs from a checkpoint trusted before
	LedgerDeleted // a ledger trusted before is gone
	Unsealed      // the store has entries but no ledger
)

var kindWords = [...]string{
	Modified:      "modified",
	Missing:       "missing",
	Inserted:      "inserted",
	Reordered:     "reordered",
	Truncated:     "truncated",
	FileDeleted:   "file deleted",
	BadSignature:  "bad signature",
	UnknownKey:    "unknown key",
	Malformed:     "malformed",
	Forged:        "forged leaves",
	RolledBack:    "rolled back",
	Inconsistent:  "inconsistent history",
	LedgerDeleted: "ledger deleted",
	Unsealed:      "unsealed",
}

func (k Kind) String() string {
	if k > 0 && int(k) < len(kindWords) {
		return kindWords[k]
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// MarshalText makes a Kind its word in JSON.
func (k Kind) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// A Problem is one finding of Verify.
type Problem struct {
	Kind   Kind      `json:"kind"`
	File   string    `json:"file,omitempty"`   // the file (or partition) concerned; "" for a ledger-level problem
	Line   int64     `json:"line,omitempty"`   // 1-based line number in File, 0 if none
	Offset int64     `json:"offset"`           // byte offset in File, -1 if none
	ID     string    `json:"id,omitempty"`     // the entry's id, where known
	Leaf   int64     `json:"leaf"`             // the leaf index (first of a run), -1 if none
	Count  int64     `json:"count"`            // entries concerned
	Time   time.Time `json:"time,omitzero"`    // the entry's time (first of a run), where known
	Origin string    `json:"origin,omitempty"` // the ledger concerned
	Detail string    `json:"detail"`           // what was found, in plain words
}

func (p *Problem) String() string {
	var b strings.Builder
	if p.File != "" {
		b.WriteString(p.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d", p.Line)
		}
		b.WriteString(": ")
	} else if p.Origin != "" {
		fmt.Fprintf(&b, "ledger %s: ", p.Origin)
	}
	b.WriteString(p.Kind.String())
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	return b.String()
}

// A FileReport sums up one file.
type FileReport struct {
	Name     string `json:"name"`
	Entries  int64  `json:"entries"`  // lines read
	Problems int    `json:"problems"` // problems found in it
	Deleted  bool   `json:"deleted,omitempty"`
}

// Status returns "valid" or the word of the file's first problem.
func (f *FileReport) Status(r *Report) string {
	if f.Problems == 0 {
		return "valid"
	}
	for i := range r.Problems {
		if r.Problems[i].File == f.Name {
			return r.Problems[i].Kind.String()
		}
	}
	return "invalid"
}

// A LogReport describes one ledger (one origin) as verified.
type LogReport struct {
	Origin      string    `json:"origin"`
	Size        uint64    `json:"size"`          // entries signed by its newest valid checkpoint
	Root        []byte    `json:"root"`          // that checkpoint's root hash
	Time        time.Time `json:"time,omitzero"` // and time
	Key         string    `json:"key,omitempty"` // the name+hash of the key that signed it
	Closed      bool      `json:"closed"`        // written as its writer closed
	Checkpoints int       `json:"checkpoints"`   // checkpoints read, history included
	Deletions   int       `json:"deletions"`     // deletion records read
	Deleted     int64     `json:"deleted"`       // entries deleted by policy
	Trusted     uint64    `json:"trusted_size"`  // size of the checkpoint trusted before, if any
	Valid       bool      `json:"valid"`         // no ledger-level problem
	Checkpoint  string    `json:"checkpoint"`    // the newest valid checkpoint, signed

	Adoptions []AdoptionReport `json:"adoptions,omitempty"` // the operator's seals of lines the ledger did not write
}

// A Gap is a stretch longer than one and a half heartbeats between two
// checkpoints of a log's history: the writer was not running. Clean says
// that the checkpoint before the gap was written by a writer's Close (an
// orderly stop); otherwise it crashed or was killed.
type Gap struct {
	Origin string        `json:"origin"`
	From   time.Time     `json:"from"`
	To     time.Time     `json:"to"`
	Length time.Duration `json:"length_ns"`
	Clean  bool          `json:"clean"`
}

func (g *Gap) String() string {
	how := "the writer stopped without closing (crash or kill)"
	if g.Clean {
		how = "the writer was closed"
	}
	return fmt.Sprintf("no checkpoint from %s to %s (%s): %s",
		g.From.UTC().Format(time.RFC3339), g.To.UTC().Format(time.RFC3339), roundDuration(g.Length), how)
}

func roundDuration(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Second)
}

// A Report is the result of Verify.
type Report struct {
	Entries    int64        `json:"entries"`    // lines read
	Valid      int64        `json:"valid"`      // lines that match a signed leaf, in order
	Deleted    int64        `json:"deleted"`    // signed entries deleted by policy (retention or request)
	Adopted    int64        `json:"adopted"`    // lines in order that an adoption record signed: by a seal, not when written
	Backfilled int64        `json:"backfilled"` // valid lines that a backfill record names: written well after their timestamp
	Pending    int64        `json:"pending"`    // lines newer than the last checkpoint of a running writer: not signed yet
	Rewrapped  int64        `json:"rewrapped"`  // valid lines that replace a signed line as a signed rewrite record says (a rewrap)
	Files      []FileReport `json:"files"`      // in storage order, deleted files last
	Logs       []LogReport  `json:"logs"`       // one per origin
	Problems   []Problem    `json:"problems"`   // empty when the store verifies
	Gaps       []Gap        `json:"gaps"`       // writer downtime, which is not in itself a failure
	Omitted    int64        `json:"omitted"`    // problems found beyond VerifyOptions.MaxProblems, not listed

	// Rewrites lists the signed rewrite records read (rewraps), oldest
	// first.
	Rewrites []RewriteReport `json:"rewrites,omitempty"`

	// Scope, for a Verify scoped to a time range (VerifyOptions.Start
	// and End), is that range: Entries, Valid, Files and the entry-level
	// problems are of its lines only. Nil for a Verify of every line.
	Scope *Scope `json:"scope,omitempty"`

	// Proofs are the inclusion proofs of VerifyOptions.Prove's records,
	// in order; nil for one that no trusted ledger signs as it is.
	Proofs []*Proof `json:"-"`

	// Trusted holds, when the report is OK, the newest checkpoint of each
	// log, signed: keep it (outside the store) and pass it as
	// VerifyOptions.Trusted next time, so that a rolled-back or rewritten
	// history is caught.
	Trusted map[string][]byte `json:"-"`
}

// A Scope is the time range of the lines a scoped Verify read, inclusive;
// a zero bound is open.
type Scope struct {
	Start time.Time `json:"start,omitzero"`
	End   time.Time `json:"end,omitzero"`
}

// String returns the range in plain words: dates for whole UTC days
// ("2026-07-01 to 2026-09-30", "2026-07-01"), else RFC 3339 times;
// "2026-07-01 onwards" or "up to 2026-09-30" for an open range.
func (sc *Scope) String() string {
	whole := func(t time.Time) bool { return t.Truncate(24 * time.Hour).Equal(t) }
	start := sc.Start.UTC().Format(time.RFC3339Nano)
	if whole(sc.Start) {
		start = sc.Start.UTC().Format("2006-01-02")
	}
	end := sc.End.UTC().Format(time.RFC3339Nano)
	if next := sc.End.Add(time.Nanosecond); whole(next) {
		end = sc.End.UTC().Format("2006-01-02")
	}
	switch {
	case sc.Start.IsZero():
		return "up to " + end
	case sc.End.IsZero():
		return start + " onwards"
	case start == end:
		return start // one whole day
	}
	return start + " to " + end
}

// OK reports whether the store verified: no problem of any kind.
func (r *Report) OK() bool { return len(r.Problems) == 0 && r.Omitted == 0 }

// FilesValid returns the number of files without problems, and of files.
func (r *Report) FilesValid() (valid, total int) {
	for i := range r.Files {
		if r.Files[i].Problems == 0 {
			valid++
		}
	}
	return valid, len(r.Files)
}

// Summary returns the report's summary line: "N/M files valid, K entries",
// and what else needs saying.
func (r *Report) Summary() string {
	v, n := r.FilesValid()
	s := fmt.Sprintf("%d/%d files valid, %d entries", v, n, r.Entries)
	if r.Scope != nil {
		if r.Scope.Start.IsZero() {
			s += " " + r.Scope.String() + " only"
		} else {
			s += " of " + r.Scope.String() + " only"
		}
	}
	if r.Deleted > 0 {
		s += fmt.Sprintf(", %d deleted by policy", r.Deleted)
	}
	if r.Adopted > 0 {
		s += fmt.Sprintf(", %d adopted by seal (not signed when written)", r.Adopted)
	}
	if r.Rewrapped > 0 {
		s += fmt.Sprintf(", %d rewrapped", r.Rewrapped)
	}
	if r.Pending > 0 {
		s += fmt.Sprintf(", %d not yet checkpointed", r.Pending)
	}
	if n := int64(len(r.Problems)) + r.Omitted; n > 0 {
		s += fmt.Sprintf(", %d %s", n, plural(int(n), "problem", "problems"))
	}
	if len(r.Gaps) > 0 {
		s += fmt.Sprintf(", %d %s", len(r.Gaps), plural(len(r.Gaps), "gap", "gaps"))
	}
	return s
}

// Has reports whether the report has a problem of kind k.
func (r *Report) Has(k Kind) bool {
	for i := range r.Problems {
		if r.Problems[i].Kind == k {
			return true
		}
	}
	return false
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
