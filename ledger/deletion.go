package ledger

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// A Reason says why entries were deleted.
type Reason string

const (
	Retention Reason = "retention" // the retention period expired (CleanupExpired)
	Request   Reason = "request"   // one entry deleted on request (Delete)
)

// A Deletion is a signed record of entries deleted by policy. Its note
// text is line-oriented:
//
//	comply-deletion/v1
//	<origin>
//	reason retention|request
//	time <RFC 3339 UTC>
//	size <tree size when written>
//	cutoff <RFC 3339 UTC>          retention only: entries stamped before it
//	leaves <first>-<last>          a run of deleted leaf indexes, inclusive
//	leaf <index> <id>              one deleted entry and its id
//
// with any number of "leaves" and "leaf" lines, in ascending order. The
// leaf hashes of the deleted entries stay in the leaf tiles, bound by the
// signed checkpoints, so the record need only name the indexes.
type Deletion struct {
	Origin string
	Reason Reason
	Time   time.Time
	Size   uint64
	Cutoff time.Time // Retention only
	Ranges [][2]uint64
	IDs    map[uint64]string // leaf index -> entry id, where known
}

const deletionMagic = "comply-deletion/v1"

var errDeletion = errors.New("malformed deletion record")

// Count returns the number of leaves the record names.
func (d *Deletion) Count() uint64 {
	var n uint64
	for _, r := range d.Ranges {
		n += r[1] - r[0] + 1
	}
	return n
}

// Text returns the record's note text.
func (d *Deletion) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\nreason %s\ntime %s\nsize %d\n", deletionMagic, d.Origin, d.Reason,
		d.Time.UTC().Format(time.RFC3339Nano), d.Size)
	if !d.Cutoff.IsZero() {
		fmt.Fprintf(&b, "cutoff %s\n", d.Cutoff.UTC().Format(time.RFC3339Nano))
	}
	for _, r := range d.Ranges {
		if id, ok := d.IDs[r[0]]; ok && r[0] == r[1] {
			fmt.Fprintf(&b, "leaf %d %s\n", r[0], id)
			continue
		}
		fmt.Fprintf(&b, "leaves %d-%d\n", r[0], r[1])
	}
	return b.String()
}

// ParseDeletion parses a deletion record's note text.
func ParseDeletion(text string) (*Deletion, error) {
	if !strings.HasSuffix(text, "\n") || !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: not newline-terminated UTF-8 text", errDeletion)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 5 || lines[0] != deletionMagic || lines[1] == "" {
		return nil, fmt.Errorf("%w: want %s, origin, reason, time and size lines", errDeletion, deletionMagic)
	}
	d := &Deletion{Origin: lines[1]}
	var last uint64
	first := true
	add := func(a, b uint64) error {
		if b < a || !first && a <= last {
			return fmt.Errorf("%w: leaves %d-%d out of order", errDeletion, a, b)
		}
		if b >= d.Size {
			return fmt.Errorf("%w: leaf %d beyond the tree size %d", errDeletion, b, d.Size)
		}
		d.Ranges = append(d.Ranges, [2]uint64{a, b})
		last, first = b, false
		return nil
	}
	for i, l := range lines[2:] {
		key, val, _ := strings.Cut(l, " ")
		var err error
		switch {
		case i == 0:
			if key != "reason" || (val != string(Retention) && val != string(Request)) {
				return nil, fmt.Errorf("%w: bad reason line %q", errDeletion, clip(l))
			}
			d.Reason = Reason(val)
		case i == 1:
			if key != "time" {
				return nil, fmt.Errorf("%w: want a time line", errDeletion)
			}
			d.Time, err = time.Parse(time.RFC3339Nano, val)
		case i == 2:
			if key != "size" {
				return nil, fmt.Errorf("%w: want a size line", errDeletion)
			}
			d.Size, err = strconv.ParseUint(val, 10, 64)
		case key == "cutoff" && i == 3:
			d.Cutoff, err = time.Parse(time.RFC3339Nano, val)
		case key == "leaves":
			a, b, ok := strings.Cut(val, "-")
			var x, y uint64
			if x, err = strconv.ParseUint(a, 10, 64); err == nil && ok {
				if y, err = strconv.ParseUint(b, 10, 64); err == nil {
					err = add(x, y)
				}
			} else if err == nil {
				err = errDeletion
			}
		case key == "leaf":
			idx, id, ok := strings.Cut(val, " ")
			var x uint64
			if x, err = strconv.ParseUint(idx, 10, 64); err == nil && ok && id != "" && !strings.Contains(id, " ") {
				if err = add(x, x); err == nil {
					if d.IDs == nil {
						d.IDs = make(map[uint64]string)
					}
					d.IDs[x] = id
				}
			} else if err == nil {
				err = errDeletion
			}
		default:
			return nil, fmt.Errorf("%w: unknown line %q", errDeletion, clip(l))
		}
		if err != nil {
			if errors.Is(err, errDeletion) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: line %q: %v", errDeletion, clip(l), err)
		}
	}
	d.Time, d.Cutoff = d.Time.UTC(), d.Cutoff.UTC()
	return d, nil
}

// signDeletion signs d.
func signDeletion(d *Deletion, s note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: d.Text()}, s)
}

// toRanges turns sorted, distinct leaf indexes into inclusive runs.
func toRanges(idx []uint64) [][2]uint64 {
	var rs [][2]uint64
	for _, i := range idx {
		if n := len(rs); n > 0 && rs[n-1][1]+1 == i {
			rs[n-1][1] = i
			continue
		}
		rs = append(rs, [2]uint64{i, i})
	}
	return rs
}

// checkDeletion checks a signed deletion record against the leaves it
// names: a retention record's cutoff lies no later than its own time, and
// every leaf it deletes was stamped before the cutoff. A record that fails
// deleted what no policy allowed.
func checkDeletion(d *Deletion, leaves []Leaf) error {
	if d.Reason != Retention {
		return nil
	}
	if d.Cutoff.IsZero() {
		return errors.New("a retention record without a cutoff")
	}
	if d.Cutoff.After(d.Time) {
		return fmt.Errorf("its cutoff %s is after its own time %s", d.Cutoff.Format(time.RFC3339Nano), d.Time.Format(time.RFC3339Nano))
	}
	cut := d.Cutoff.UnixMicro()
	if d.Cutoff.Nanosecond()%1000 != 0 {
		cut++
	}
	for _, r := range d.Ranges {
		for i := r[0]; i <= r[1] && i < uint64(len(leaves)); i++ {
			if leaves[i].Time >= cut {
				return fmt.Errorf("it deletes leaf %d, stamped %s, which the cutoff %s had not expired", i,
					time.UnixMicro(leaves[i].Time).UTC().Format(time.RFC3339Nano), d.Cutoff.Format(time.RFC3339Nano))
			}
		}
	}
	return nil
}
