package seal

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/complyhq/comply/internal/keyfile"
)

// The encodings of sealing keys: a prefix, the KEM id in 4 hex digits,
// '.', and the key in base64url without padding (RFC 9180's serialized
// public key, or the serialized private key).
const (
	publicKeyPrefix  = "hpke1-pub."
	privateKeyPrefix = "hpke1-key."
)

// maxSealingKeyFile bounds a sealing key file.
const maxSealingKeyFile = 64 << 10

// Encode returns the text form of the public key, "hpke1-pub.KEM.KEY",
// what NAME.pub holds. It is not secret.
func (s *SealingKey) Encode() string {
	return publicKeyPrefix + fmt.Sprintf("%04x.", s.KEM()) + base64.RawURLEncoding.EncodeToString(s.pub.Bytes())
}

// Encode returns the text form of the private key, "hpke1-key.KEM.KEY",
// what NAME.key holds. It is the secret.
func (i *Identity) Encode() (string, error) {
	b, err := i.priv.Bytes()
	if err != nil {
		return "", fmt.Errorf("seal: encoding the identity: %w", err)
	}
	s := privateKeyPrefix + fmt.Sprintf("%04x.", i.priv.KEM().ID()) + base64.RawURLEncoding.EncodeToString(b)
	clear(b)
	return s, nil
}

// parseKeyText splits "PREFIX KEM.KEY" and decodes the key bytes.
func parseKeyText(s, prefix, what string) (uint16, []byte, error) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s), prefix)
	if !ok {
		return 0, nil, fmt.Errorf("seal: %w: not a %s (it does not start with %s)", ErrInvalidKey, what, prefix)
	}
	kemHex, b64, ok := strings.Cut(rest, ".")
	kem, err := strconv.ParseUint(kemHex, 16, 16)
	if !ok || err != nil || len(kemHex) != 4 {
		return 0, nil, fmt.Errorf("seal: %w: %s: no KEM id", ErrInvalidKey, what)
	}
	raw, err := base64.RawURLEncoding.DecodeString(b64)
	if err != nil {
		return 0, nil, fmt.Errorf("seal: %w: %s: the key is not unpadded base64url", ErrInvalidKey, what)
	}
	return uint16(kem), raw, nil
}

// ParseSealingKey parses the text form of a public key ([SealingKey.Encode]).
func ParseSealingKey(s string) (*SealingKey, error) {
	id, raw, err := parseKeyText(s, publicKeyPrefix, "sealing public key")
	if err != nil {
		return nil, err
	}
	kem, err := kemOf(id)
	if err != nil {
		return nil, fmt.Errorf("seal: %w: sealing public key: unsupported KEM 0x%04x", ErrInvalidKey, id)
	}
	pub, err := kem.NewPublicKey(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: %w: sealing public key: not a valid key for its KEM", ErrInvalidKey)
	}
	return newSealingKey(pub)
}

// ParseIdentity parses the text form of a private key ([Identity.Encode]).
// Errors never quote it.
func ParseIdentity(s string) (*Identity, error) {
	id, raw, err := parseKeyText(s, privateKeyPrefix, "sealing private key (identity)")
	if err != nil {
		return nil, err
	}
	defer clear(raw)
	kem, err := kemOf(id)
	if err != nil {
		return nil, fmt.Errorf("seal: %w: identity: unsupported KEM 0x%04x", ErrInvalidKey, id)
	}
	priv, err := kem.NewPrivateKey(raw)
	if err != nil {
		return nil, fmt.Errorf("seal: %w: identity: not a valid key for its KEM", ErrInvalidKey)
	}
	return newIdentity(priv)
}

// LoadSealingKey reads a public key file (NAME.pub).
func LoadSealingKey(path string) (*SealingKey, error) {
	data, err := keyfile.Read(path, false, maxSealingKeyFile)
	if err != nil {
		return nil, fmt.Errorf("seal: sealing key: %w", err)
	}
	k, err := ParseSealingKey(string(data))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return k, nil
}

// LoadIdentity reads a private key file (NAME.key), which only its owner
// may access, as [LoadKeyring] requires of key files.
func LoadIdentity(path string) (*Identity, error) {
	data, err := keyfile.Read(path, true, maxSealingKeyFile)
	var me *keyfile.ModeError
	if errors.As(err, &me) {
		return nil, &KeyFileModeError{Path: me.Path, Mode: me.Mode}
	}
	if err != nil {
		return nil, fmt.Errorf("seal: identity: %w", err)
	}
	defer clear(data)
	i, err := ParseIdentity(string(data))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	return i, nil
}

// WriteSealingFiles writes i's public key to name+".pub" and its private
// key to name+".key", both mode 0600 (copy the .pub file to the writers),
// and never overwrites a file: an existing one is an error wrapping
// fs.ErrExist.
func WriteSealingFiles(name string, i *Identity) error {
	priv, err := i.Encode()
	if err != nil {
		return err
	}
	for _, f := range []struct{ path, text string }{
		{name + ".key", priv},
		{name + ".pub", i.pub.Encode()},
	} {
		if err := writeNew(f.path, []byte(f.text+"\n")); err != nil {
			if f.path == name+".pub" {
				os.Remove(name + ".key")
			}
			return err
		}
	}
	return nil
}

// writeNew writes data to a new file, mode 0600, synced, and clears data.
func writeNew(path string, data []byte) error {
	defer clear(data)
	if err := keyfile.WriteNew(path, data, 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("seal: %s: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("seal: %w", err)
	}
	return nil
}
