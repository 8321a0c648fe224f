package ledger

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/store"
)

// An Adoption is the signed record of an operator's decision to sign lines
// that the ledger did not write ('comply seal', Options.AdoptAll): which
// leaves, when, by which key and why, and what else the writer found (the
// acknowledged entries its journal said were gone, journal records that
// failed their MAC, a store without a ledger). Verify reports adopted
// entries as their own class: signed by the seal, not when written. Its
// note text is line-oriented:
//
//	comply-adoption/v1
//	<origin>
//	time <RFC 3339 UTC>
//	key <the signer key's name>
//	size <tree size after the adoption>
//	missing <acknowledged entries of the journal that were gone>
//	journal-errors <journal records that failed their MAC>
//	no-ledger <true|false>
//	reason <free text, one line>
//	leaves <first>-<last>          a run of adopted leaf indexes, inclusive
type Adoption struct {
	Origin        string
	Time          time.Time
	Key           string
	Size          uint64
	Missing       int
	JournalErrors int
	NoLedger      bool
	Reason        string
	Ranges        [][2]uint64
}

const adoptionMagic = "comply-adoption/v1"

var errAdoption = errors.New("malformed adoption record")

// Count returns the number of leaves the record adopts.
func (a *Adoption) Count() uint64 {
	var n uint64
	for _, r := range a.Ranges {
		n += r[1] - r[0] + 1
	}
	return n
}

// Contains reports whether the record adopts leaf i.
func (a *Adoption) Contains(i uint64) bool {
	for _, r := range a.Ranges {
		if r[0] <= i && i <= r[1] {
			return true
		}
	}
	return false
}

// Text returns the record's note text.
func (a *Adoption) Text() string {
	reason := strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, a.Reason)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\ntime %s\nkey %s\nsize %d\nmissing %d\njournal-errors %d\nno-ledger %t\nreason %s\n",
		adoptionMagic, a.Origin, a.Time.UTC().Format(time.RFC3339Nano), a.Key, a.Size, a.Missing, a.JournalErrors, a.NoLedger, reason)
	for _, r := range a.Ranges {
		fmt.Fprintf(&b, "leaves %d-%d\n", r[0], r[1])
	}
	return b.String()
}

// ParseAdoption parses an adoption record's note text.
func ParseAdoption(text string) (*Adoption, error) {
	if !strings.HasSuffix(text, "\n") || !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: not newline-terminated UTF-8 text", errAdoption)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 9 || lines[0] != adoptionMagic || lines[1] == "" {
		return nil, fmt.Errorf("%w: want %s and its header lines", errAdoption, adoptionMagic)
	}
	a := &Adoption{Origin: lines[1]}
	want := []string{"time", "key", "size", "missing", "journal-errors", "no-ledger", "reason"}
	for i, key := range want {
		k, val, ok := strings.Cut(lines[2+i], " ")
		if !ok || k != key {
			return nil, fmt.Errorf("%w: want a %s line", errAdoption, key)
		}
		var err error
		switch key {
		case "time":
			a.Time, err = time.Parse(time.RFC3339Nano, val)
		case "key":
			a.Key = val
		case "size":
			a.Size, err = strconv.ParseUint(val, 10, 64)
		case "missing":
			a.Missing, err = strconv.Atoi(val)
		case "journal-errors":
			a.JournalErrors, err = strconv.Atoi(val)
		case "no-ledger":
			a.NoLedger, err = strconv.ParseBool(val)
		case "reason":
			a.Reason = val
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %s line: %v", errAdoption, key, err)
		}
	}
	var last uint64
	for i, l := range lines[2+len(want):] {
		val, ok := strings.CutPrefix(l, "leaves ")
		x, y, ok2 := strings.Cut(val, "-")
		if !ok || !ok2 {
			return nil, fmt.Errorf("%w: unknown line %q", errAdoption, clip(l))
		}
		lo, err1 := strconv.ParseUint(x, 10, 64)
		hi, err2 := strconv.ParseUint(y, 10, 64)
		if err1 != nil || err2 != nil || hi < lo || hi >= a.Size || i > 0 && lo <= last {
			return nil, fmt.Errorf("%w: bad leaves line %q", errAdoption, clip(l))
		}
		a.Ranges = append(a.Ranges, [2]uint64{lo, hi})
		last = hi
	}
	a.Time = a.Time.UTC()
	return a, nil
}

func signAdoption(a *Adoption, s note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: a.Text()}, s)
}

const adoptionsDir = "adoptions/"

func adoptionBlob(slug string, n int) string {
	return fmt.Sprintf("%s%s%0*d", prefixOf(slug), adoptionsDir, delNameDigits, n)
}

// loadAdoptions reads a ledger's adoption records into lg; a record that
// no known key signed adopts nothing, so its entries read as inserted.
func loadAdoptions(ctx context.Context, sc store.Sidecar, lg *vlog, known note.Verifiers, problem func(Kind, string, ...any)) error {
	return readSigned(ctx, sc, prefixOf(lg.slug)+adoptionsDir, known, problem, "adoption record", func(name, text string) {
		a, err := ParseAdoption(text)
		switch {
		case err != nil:
			problem(Malformed, "adoption record %s: %v", name, err)
		case a.Origin != lg.rep.Origin:
			problem(Malformed, "adoption record %s names another origin, %q", name, a.Origin)
		default:
			lg.adopts = append(lg.adopts, a)
			lg.rep.Adoptions = append(lg.rep.Adoptions, AdoptionReport{Time: a.Time, Key: a.Key, Reason: a.Reason,
				Count: a.Count(), Missing: a.Missing, NoLedger: a.NoLedger})
		}
	})
}

// readSigned calls fn with the text of every signed note under prefix that
// a known key signed; a note that none did is a problem of the ledger (the
// entries it names are not taken as what it says).
func readSigned(ctx context.Context, sc store.Sidecar, prefix string, known note.Verifiers, problem func(Kind, string, ...any), what string, fn func(name, text string)) error {
	names, err := sc.ListBlobs(ctx, prefix)
	if err != nil {
		return err
	}
	for _, name := range names {
		b, err := sc.ReadBlob(ctx, name)
		if err != nil {
			return err
		}
		text, _, err := openNote(b, known)
		var se *SignatureError
		if errors.As(err, &se) {
			problem(se.Kind, "%s %s: %v; the entries it names are not taken as it says", what, name, err)
			continue
		}
		fn(name, text)
	}
	return nil
}

// adopted reports whether an adoption record of lg adopts its leaf i.
func (lg *vlog) adopted(i int) bool {
	for _, a := range lg.adopts {
		if a.Contains(uint64(i)) {
			return true
		}
	}
	return false
}

// An AdoptionReport is one adoption record as Verify read it.
type AdoptionReport struct {
	Time     time.Time `json:"time"`
	Key      string    `json:"key"`
	Reason   string    `json:"reason,omitempty"`
	Count    uint64    `json:"count"`   // entries adopted: signed by the seal, not when written
	Missing  int       `json:"missing"` // acknowledged entries the journal held that were gone at the seal
	NoLedger bool      `json:"no_ledger"`
}
