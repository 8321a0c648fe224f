package comply

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/complyhq/comply/internal/line"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/subjectkey"
)

// KeyVersionKey is the metadata key that names the key which sealed an
// entry's content, the reference library's convention ("Store key version
// with encrypted data"). The Logger writes it whenever it stores content,
// replacing a value the caller set under the same key; readers use it to
// pick the key instead of trying every key.
const KeyVersionKey = "encryption_key_version"

// A KeyringProvider returns the current keyring: see Options.Keys.
type KeyringProvider interface {
	Keyring() *seal.Keyring
}

// keyring returns the keyring to use now: Options.Keys's, else
// Options.Keyring.
func (l *Logger) keyring() *seal.Keyring {
	if l.opts.Keys != nil {
		return l.opts.Keys.Keyring()
	}
	return l.opts.Keyring
}

// canSeal reports whether the Logger has a way to seal content: a
// keyring, a keyring provider or a sealing public key.
func (l *Logger) canSeal() bool {
	o := &l.opts
	return o.Keyring != nil || o.Keys != nil || o.SealTo != nil
}

// sealContent stores the interaction's input and output in e, sealed, and
// returns the id of the key that sealed them. It is the one place where
// content is protected before it is written: which key seals it, and what
// the entry records about that key, is decided here (sealerFor).
func (l *Logger) sealContent(in *Interaction, e *line.Entry) (keyID string, err error) {
	s, err := l.sealerFor(in)
	if err != nil {
		return "", err
	}
	if in.InputHash == "" { // else only the input's hash is known
		if e.InputContent, keyID, err = s.seal(in.Input); err != nil {
			return "", fmt.Errorf("comply: seal input: %w", err)
		}
	}
	if e.OutputContent, keyID, err = s.seal(in.Output); err != nil {
		return "", fmt.Errorf("comply: seal output: %w", err)
	}
	return keyID, nil
}

// A sealer seals the content fields of one entry: under its data
// subject's key (vault), else to a public key (pk), else under the
// keyring's primary key (kr, whose id is id).
type sealer struct {
	vault   *subjectkey.Vault
	subject string
	pk      *seal.SealingKey
	kr      *seal.Keyring
	id      string
}

// seal returns the stored form of plaintext and the id of the key that
// sealed it. It takes a string and converts it in each branch, so that
// the keyring's (which does not keep it) costs no copy.
func (s *sealer) seal(plaintext string) (stored, keyID string, err error) {
	switch {
	case s.vault != nil:
		return s.vault.Seal(context.Background(), s.subject, []byte(plaintext)) // blob I/O once per subject, then cached
	case s.pk != nil:
		stored, err = s.pk.Seal([]byte(plaintext))
		return stored, s.pk.ID(), err
	default:
		stored, err = s.kr.Encrypt([]byte(plaintext))
		return stored, s.id, err
	}
}

// sealerFor returns how in's content is sealed: under its data subject's
// key (Options.Subjects, when in's metadata names a subject), else to the
// public key of Options.SealTo, else under the keyring's primary key.
func (l *Logger) sealerFor(in *Interaction) (sealer, error) {
	if v := l.opts.Subjects; v != nil {
		if val, ok := subjectValue(in.Metadata, v.Subject()); ok {
			return sealer{vault: v, subject: val}, nil
		}
	}
	if pk := l.opts.SealTo; pk != nil {
		return sealer{pk: pk}, nil
	}
	kr := l.keyring()
	if kr.Len() == 0 {
		return sealer{}, fmt.Errorf("comply: encrypt: %w", seal.ErrNoKey)
	}
	return sealer{kr: kr, id: kr.PrimaryID()}, nil
}

// withKeyVersion returns the metadata object md (Python-style JSON, as
// line.AppendValue writes it, or nil) with KeyVersionKey set to id: in
// place if md has the key, else appended, as Python's
// metadata["encryption_key_version"] = id would.
func withKeyVersion(md []byte, id string) ([]byte, error) {
	md = bytes.TrimSpace(md)
	const key = `"` + KeyVersionKey + `": `
	switch {
	case len(md) == 0 || string(md) == "null":
		out := append(make([]byte, 0, len(key)+len(id)+8), '{')
		return appendKeyVersion(append(out, key...), id)
	case !bytes.Contains(md, []byte(KeyVersionKey)) && len(md) >= 2 && md[0] == '{' && md[len(md)-1] == '}':
		out := make([]byte, 0, len(md)+len(key)+len(id)+8)
		out = append(out, bytes.TrimSpace(md[:len(md)-1])...)
		if len(out) > 1 {
			out = append(out, ", "...)
		}
		return appendKeyVersion(append(out, key...), id)
	}
	val, err := line.AppendValue(nil, id)
	if err != nil {
		return nil, err
	}
	return replaceKeyVersion(md, val)
}

// appendKeyVersion appends the JSON string id and the closing brace.
func appendKeyVersion(out []byte, id string) ([]byte, error) {
	out, err := line.AppendValue(out, id)
	if err != nil {
		return nil, err
	}
	return append(out, '}'), nil
}

// replaceKeyVersion rebuilds the object md with KeyVersionKey set to val,
// keeping the order of the other keys.
func replaceKeyVersion(md, val []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(md))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	out := []byte{'{'}
	found := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		if out, err = line.AppendValue(out, k); err != nil {
			return nil, err
		}
		out = append(out, ':')
		if k == KeyVersionKey {
			if found { // a repeated key: JSON keeps the last, so do we
				continue
			}
			found = true
			v = val
		}
		out = append(out, v...)
	}
	if !found {
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = fmt.Appendf(out, `"%s":%s`, KeyVersionKey, val)
	}
	out = append(out, '}')
	return line.AppendJSON(nil, out)
}

// DecryptContent returns the plaintext of an encrypted content field
// (Entry.InputContent or OutputContent), trying each key of the keyring.
// With the entry at hand, [Logger.DecryptEntryContent] goes straight to
// the key that sealed it.
func (l *Logger) DecryptContent(content string) (string, error) {
	return l.decryptContent("", content)
}

// DecryptEntryContent returns the plaintext of content, one of e's
// content fields, with the key that e's metadata names under
// KeyVersionKey; an entry without it (written before key ids) is
// decrypted by trying each key.
func (l *Logger) DecryptEntryContent(e *Entry, content string) (string, error) {
	if v := EntryKeyVersion(e); strings.HasPrefix(v, SubjectKeyPrefix) {
		return l.openSubject(e, v, content)
	}
	return l.decryptContent(EntryKeyVersion(e), content)
}

// EntryKeyVersion returns the id of the key that sealed e's content, from
// its metadata's KeyVersionKey, or "" if e does not say.
func EntryKeyVersion(e *Entry) string {
	if e == nil || !bytes.Contains(e.Metadata, []byte(KeyVersionKey)) {
		return ""
	}
	var m struct {
		V json.RawMessage `json:"encryption_key_version"`
	}
	if json.Unmarshal(e.Metadata, &m) != nil {
		return ""
	}
	var s string
	if json.Unmarshal(m.V, &s) != nil {
		return ""
	}
	return strings.TrimSpace(s)
}

func (l *Logger) decryptContent(keyID, content string) (string, error) {
	if err := l.errIfClosed("decrypt"); err != nil {
		return "", err
	}
	if seal.IsSealed(content) {
		return l.openSealed(content)
	}
	kr := l.keyring()
	if kr == nil {
		return "", ErrNoEncryption
	}
	var b []byte
	var err error
	if _, ok := kr.Key(keyID); ok {
		b, err = kr.DecryptWith(keyID, content)
	} else {
		// No id, or one this keyring lacks (a key renamed since, or an id
		// the caller set by hand): try every key.
		b, err = kr.Decrypt(content)
	}
	if err != nil {
		return "", fmt.Errorf("comply: decrypt: %w", err)
	}
	return string(b), nil
}

// openSealed opens content sealed to a public key, with Options.Identity.
func (l *Logger) openSealed(content string) (string, error) {
	if l.opts.Identity == nil {
		id, _ := seal.SealedKeyID(content)
		if l.opts.SealTo != nil && l.opts.SealTo.ID() == id {
			return "", fmt.Errorf("comply: decrypt: %w: this Logger holds only the public key %s, which seals but cannot open", seal.ErrNeedsIdentity, id)
		}
		return "", fmt.Errorf("comply: decrypt: %w: no identity (private key) was given", seal.ErrNeedsIdentity)
	}
	b, err := l.opts.Identity.Open(content)
	if err != nil {
		return "", fmt.Errorf("comply: decrypt: %w", err)
	}
	return string(b), nil
}
