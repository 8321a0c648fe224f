package comply

import (
	"fmt"

	"github.com/complyhq/comply/internal/line"
)

// sealContent stores the interaction's input and output in e, sealed.
// It is the one place where content is protected before it is written:
// which key seals it, and what the entry records about that key, is
// decided here.
func (l *Logger) sealContent(in *Interaction, e *line.Entry) error {
	var err error
	if in.InputHash == "" { // else only the input's hash is known
		if e.InputContent, err = l.opts.Keyring.Encrypt([]byte(in.Input)); err != nil {
			return fmt.Errorf("comply: encrypt input: %w", err)
		}
	}
	if e.OutputContent, err = l.opts.Keyring.Encrypt([]byte(in.Output)); err != nil {
		return fmt.Errorf("comply: encrypt output: %w", err)
	}
	return nil
}
