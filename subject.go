package comply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/complyhq/comply/subjectkey"
)

// ErasedError is the error of decrypting content whose data subject was
// erased (crypto-shredding): it says when and why. Match it with
// errors.As.
type ErasedError = subjectkey.ErasedError

// ErrNoSubjectVault is returned when content sealed under a subject's
// data key is decrypted by a Logger without Options.Subjects.
var ErrNoSubjectVault = errors.New("the content is sealed under a data subject's key, and no subject key is configured")

// subjectValue returns the value of the metadata key subject in md (an
// Interaction's Metadata), as a string: a string as is, a number in its
// JSON form; false if md has no such key or another kind of value.
func subjectValue(md any, subject string) (string, bool) {
	var m map[string]any
	switch x := md.(type) {
	case nil:
		return "", false
	case map[string]any:
		m = x
	case map[string]string:
		v, ok := x[subject]
		return v, ok && v != ""
	default:
		b, err := json.Marshal(md)
		if err != nil || json.Unmarshal(b, &m) != nil {
			return "", false
		}
	}
	switch v := m[subject].(type) {
	case string:
		return v, v != ""
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64), true
	case int:
		return strconv.Itoa(v), true
	case int64:
		return strconv.FormatInt(v, 10), true
	case json.Number:
		return v.String(), true
	}
	return "", false
}

// openSubject decrypts content of e sealed under a subject's data key of
// version ver. An erased subject's is an error wrapping an *ErasedError.
func (l *Logger) openSubject(e *Entry, ver, content string) (string, error) {
	v := l.opts.Subjects
	if v == nil {
		return "", fmt.Errorf("comply: decrypt: %w", ErrNoSubjectVault)
	}
	val, ok := subjectValue(json.RawMessage(e.Metadata), v.Subject())
	if !ok {
		return "", fmt.Errorf("comply: decrypt: the entry's metadata has no %s", v.Subject())
	}
	b, err := v.Open(context.Background(), val, ver, content)
	if err != nil {
		return "", fmt.Errorf("comply: decrypt: %w", err)
	}
	return string(b), nil
}
