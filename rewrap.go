package comply

import (
	"errors"
	"fmt"
	"strings"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/seal"
)

// ErrRewrap is wrapped by the errors of RewrapLine: an entry whose content
// cannot be re-encrypted. The error names the entry and key ids, never
// content or keys.
var ErrRewrap = errors.New("cannot rewrap the entry")

// RewrapLine re-encrypts the content fields of one stored line (the
// seed's JSONL schema) under the keyring's key of id to, and sets the
// metadata's KeyVersionKey to it. Each field is decrypted with the key its
// KeyVersionKey names, or, for an entry written before key ids, with
// whichever key of the keyring opens it. It reports false, and returns
// the line unchanged, for an entry already under to, one without content,
// one sealed under a subject's data key (crypto-shredding), and one
// sealed to a public key (seal.SealingKey), whose content a keyring key
// does not seal. Every other field stays byte for
// byte. An error wraps ErrRewrap, and the caller rewrites nothing.
func RewrapLine(kr *seal.Keyring, to string, ln []byte) ([]byte, bool, error) {
	if _, ok := kr.Key(to); !ok {
		return nil, false, fmt.Errorf("%w: the keyring holds no key %q", ErrRewrap, to)
	}
	var e line.Entry
	if err := line.Decode(ln, &e); err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrRewrap, err)
	}
	if e.InputContent == "" && e.OutputContent == "" {
		return ln, false, nil
	}
	from := EntryKeyVersion((*Entry)(&e))
	if from == to || strings.HasPrefix(from, SubjectKeyPrefix) ||
		seal.IsSealed(e.InputContent) || seal.IsSealed(e.OutputContent) {
		return ln, false, nil
	}
	for _, f := range []*string{&e.InputContent, &e.OutputContent} {
		if *f == "" {
			continue
		}
		var pt []byte
		var err error
		if _, ok := kr.Key(from); ok {
			pt, err = kr.DecryptWith(from, *f)
		} else {
			pt, _, err = kr.DecryptID(*f)
		}
		if err != nil {
			return nil, false, fmt.Errorf("%w %s: its content does not decrypt with the keyring (key %q): %w", ErrRewrap, e.ID, from, err)
		}
		if *f, err = kr.EncryptWith(to, pt); err != nil {
			return nil, false, fmt.Errorf("%w %s: %w", ErrRewrap, e.ID, err)
		}
	}
	md, err := withKeyVersion(e.Metadata, to)
	if err != nil {
		return nil, false, fmt.Errorf("%w %s: metadata: %w", ErrRewrap, e.ID, err)
	}
	e.Metadata = md
	out, err := line.Append(nil, &e)
	if err != nil {
		return nil, false, fmt.Errorf("%w %s: %w", ErrRewrap, e.ID, err)
	}
	return out, true, nil
}

// SubjectKeyPrefix starts the KeyVersionKey of an entry whose content is
// sealed under a subject's data key (crypto-shredding): "subject:" and the
// data key's id.
const SubjectKeyPrefix = "subject:"
