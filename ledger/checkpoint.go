package ledger

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
)

// A Checkpoint is a signed statement of the log's state in the C2SP
// tlog-checkpoint format: the origin, the tree size and the root hash, then
// comply's extension lines:
//
//	time <RFC 3339 UTC, nanoseconds>   when it was written
//	heartbeat <duration>               the writer's heartbeat interval
//	closed                             written as the writer closed
//
// Unknown extension lines are kept in Extra.
type Checkpoint struct {
	Origin    string
	Size      uint64
	Root      []byte // 32 bytes
	Time      time.Time
	Heartbeat time.Duration // 0 if the line is absent
	Closed    bool
	Extra     []string
}

// errCheckpoint is wrapped by every checkpoint parse error.
var errCheckpoint = errors.New("malformed checkpoint")

// Text returns the checkpoint's note text, ending in a newline.
func (c *Checkpoint) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%d\n%s\n", c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root))
	if !c.Time.IsZero() {
		fmt.Fprintf(&b, "time %s\n", c.Time.UTC().Format(time.RFC3339Nano))
	}
	if c.Heartbeat > 0 {
		fmt.Fprintf(&b, "heartbeat %s\n", c.Heartbeat)
	}
	if c.Closed {
		b.WriteString("closed\n")
	}
	for _, e := range c.Extra {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.String()
}

// ParseCheckpoint parses a checkpoint's note text (without signatures).
func ParseCheckpoint(text string) (*Checkpoint, error) {
	if !strings.HasSuffix(text, "\n") || !utf8.ValidString(text) {
		return nil, fmt.Errorf("%w: not newline-terminated UTF-8 text", errCheckpoint)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("%w: want origin, size and root lines", errCheckpoint)
	}
	c := &Checkpoint{Origin: lines[0]}
	if c.Origin == "" || strings.HasPrefix(c.Origin, "— ") {
		return nil, fmt.Errorf("%w: empty origin", errCheckpoint)
	}
	size, err := strconv.ParseUint(lines[1], 10, 64)
	if err != nil || lines[1] != strconv.FormatUint(size, 10) {
		return nil, fmt.Errorf("%w: bad tree size %q", errCheckpoint, clip(lines[1]))
	}
	c.Size = size
	root, err := base64.StdEncoding.Strict().DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		return nil, fmt.Errorf("%w: bad root hash %q", errCheckpoint, clip(lines[2]))
	}
	c.Root = root
	for _, l := range lines[3:] {
		if l == "" {
			return nil, fmt.Errorf("%w: empty extension line", errCheckpoint)
		}
		key, val, _ := strings.Cut(l, " ")
		switch {
		case key == "time" && c.Time.IsZero():
			t, err := time.Parse(time.RFC3339Nano, val)
			if err != nil {
				return nil, fmt.Errorf("%w: bad time %q", errCheckpoint, clip(val))
			}
			c.Time = t.UTC()
		case key == "heartbeat" && c.Heartbeat == 0:
			d, err := time.ParseDuration(val)
			if err != nil || d <= 0 {
				return nil, fmt.Errorf("%w: bad heartbeat %q", errCheckpoint, clip(val))
			}
			c.Heartbeat = d
		case l == "closed":
			c.Closed = true
		default:
			c.Extra = append(c.Extra, l)
		}
	}
	return c, nil
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// A SignatureError says why a signed note (a checkpoint or a deletion
// record) could not be trusted. Kind is BadSignature, UnknownKey or
// Malformed.
type SignatureError struct {
	Kind Kind
	Keys []string // the name+hash of the keys that signed it, for UnknownKey
	Err  error
}

func (e *SignatureError) Error() string {
	switch e.Kind {
	case UnknownKey:
		if len(e.Keys) > 0 {
			return "signed by an unknown key (" + strings.Join(e.Keys, ", ") + ")"
		}
		return "signed by an unknown key"
	case BadSignature:
		return "bad signature: " + e.Err.Error()
	}
	return "malformed signed note: " + e.Err.Error()
}

func (e *SignatureError) Unwrap() error { return e.Err }

// openNote checks msg's signatures against known and returns its text. A
// note signed by no known key, or with a signature a known key rejects, is
// a *SignatureError; its text is returned anyway when it can be read, so
// that a report can still say what it claims.
func openNote(msg []byte, known note.Verifiers) (text string, signer string, err error) {
	n, err := note.Open(msg, known)
	if err == nil {
		s := n.Sigs[0]
		return n.Text, fmt.Sprintf("%s+%08x", s.Name, s.Hash), nil
	}
	var unv *note.UnverifiedNoteError
	var inv *note.InvalidSignatureError
	switch {
	case errors.As(err, &unv):
		var keys []string
		for _, s := range unv.Note.UnverifiedSigs {
			keys = append(keys, fmt.Sprintf("%s+%08x", s.Name, s.Hash))
		}
		return unv.Note.Text, "", &SignatureError{Kind: UnknownKey, Keys: keys, Err: err}
	case errors.As(err, &inv):
		text, _ := noteText(msg)
		return text, "", &SignatureError{Kind: BadSignature, Err: err}
	}
	text, _ = noteText(msg)
	return text, "", &SignatureError{Kind: Malformed, Err: err}
}

// noteText returns the text part of a signed note without checking it.
func noteText(msg []byte) (string, bool) {
	i := bytes.LastIndex(msg, []byte("\n\n"))
	if i < 0 {
		return "", false
	}
	return string(msg[:i+1]), true
}

// sigPrefix starts every signature line of a note.
const sigPrefix = "— "

// splitNotes splits a concatenation of signed notes, as a history blob
// holds them: each note is text lines, a blank line, then one or more
// signature lines; the next note starts at the first line after them that
// is not a signature line.
func splitNotes(b []byte) ([][]byte, error) {
	var notes [][]byte
	start, inSigs, sawSig := 0, false, false
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return notes, fmt.Errorf("%w: unterminated line at byte %d", errCheckpoint, i)
		}
		line := b[i : i+j]
		switch {
		case !inSigs && len(line) == 0:
			if i == start {
				return notes, fmt.Errorf("%w: empty note at byte %d", errCheckpoint, i)
			}
			inSigs, sawSig = true, false
		case inSigs && bytes.HasPrefix(line, []byte(sigPrefix)):
			sawSig = true
		case inSigs:
			if !sawSig {
				return notes, fmt.Errorf("%w: note without signatures at byte %d", errCheckpoint, start)
			}
			notes = append(notes, b[start:i])
			start, inSigs = i, false
			continue // reread this line as the start of the next note
		}
		i += j + 1
	}
	if start < len(b) {
		if !inSigs || !sawSig {
			return notes, fmt.Errorf("%w: note without signatures at byte %d", errCheckpoint, start)
		}
		notes = append(notes, b[start:])
	}
	return notes, nil
}

// signCheckpoint signs c.
func signCheckpoint(c *Checkpoint, s note.Signer) ([]byte, error) {
	return note.Sign(&note.Note{Text: c.Text()}, s)
}

// OpenCheckpoint checks a signed checkpoint against the known verifiers and
// parses it. The name+hash of the key that signed it is returned too. On a
// *SignatureError the checkpoint is returned as well when its text parses,
// so that a report can say what it claims.
func OpenCheckpoint(msg []byte, known note.Verifiers) (*Checkpoint, string, error) {
	text, key, err := openNote(msg, known)
	if text == "" {
		if err == nil {
			err = errCheckpoint
		}
		return nil, "", err
	}
	c, perr := ParseCheckpoint(text)
	if perr != nil {
		return nil, key, perr
	}
	return c, key, err
}
