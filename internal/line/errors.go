package line

import (
	"errors"
	"strconv"
)

// ErrInvalidUTF8 is wrapped by the errors reported for strings that are not
// valid UTF-8, so that errors.Is(err, ErrInvalidUTF8) identifies them.
var ErrInvalidUTF8 = errors.New("invalid UTF-8")

// A FieldError reports a problem with one field of an entry: a value that
// cannot be encoded, or a line whose value for the key is missing or of the
// wrong kind.
type FieldError struct {
	Field string // the JSON key, such as "input_tokens"
	Err   error  // what is wrong with the field
}

// Error returns "field " + Field + ": " + the error text.
func (e *FieldError) Error() string {
	return "field " + e.Field + ": " + e.Err.Error()
}

// Unwrap returns e.Err.
func (e *FieldError) Unwrap() error { return e.Err }

// A SyntaxError reports malformed JSON and where it was found.
type SyntaxError struct {
	Offset int    // byte offset in the input where the problem was detected
	Msg    string // description of the problem

	err error // wrapped sentinel, such as ErrInvalidUTF8, or nil
}

// Error returns a message naming the byte offset.
func (e *SyntaxError) Error() string {
	return "syntax error at byte offset " + strconv.Itoa(e.Offset) + ": " + e.Msg
}

// Unwrap returns the sentinel error behind e, such as ErrInvalidUTF8, or nil.
func (e *SyntaxError) Unwrap() error { return e.err }

// syntaxErr returns a *SyntaxError at off.
func syntaxErr(off int, msg string) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: msg}
}

// utf8Err returns a *SyntaxError at off that wraps ErrInvalidUTF8.
func utf8Err(off int) *SyntaxError {
	return &SyntaxError{Offset: off, Msg: "invalid UTF-8 in string", err: ErrInvalidUTF8}
}
