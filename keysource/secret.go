package keysource

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/complyhq/comply/seal"
)

// lookupEnv is os.LookupEnv; a variable for tests.
var lookupEnv = os.LookupEnv

// parseSecret parses a secret's text: a JSON object of id to key (with an
// optional "primary" member), or keyring text. Errors name source and
// never quote the text.
func parseSecret(text, source string) (*seal.Keyring, error) {
	t := strings.TrimSpace(text)
	if t == "" {
		return nil, fmt.Errorf("keysource: %s: %w: it is empty", source, ErrSecret)
	}
	if t[0] != '{' {
		kr, err := seal.ParseKeyring(t)
		if err != nil {
			return nil, fmt.Errorf("keysource: %s: %w: %w", source, ErrSecret, err)
		}
		return kr, nil
	}
	m := map[string]any{}
	dec := json.NewDecoder(strings.NewReader(t))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("keysource: %s: %w: it starts with '{' but is not a JSON object (problem near byte %d)", source, ErrSecret, dec.InputOffset())
	}
	keys := make(map[string]string, len(m))
	for id, v := range m {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("keysource: %s: %w: member %q is not a string", source, ErrSecret, safeID(id))
		}
		keys[id] = s
	}
	return keyringFromMap(keys, source)
}

// keyringFromMap builds a keyring of id -> encoded key; the "primary"
// member, if any, names the primary, else the highest version is.
func keyringFromMap(m map[string]string, source string) (*seal.Keyring, error) {
	primary, named := m["primary"]
	ids := make([]string, 0, len(m))
	for id := range m {
		if id != "primary" {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, fmt.Errorf("keysource: %s: %w: the object holds no key", source, ErrSecret)
	}
	slices.SortFunc(ids, func(a, b string) int { return compareVersions(b, a) })
	if named {
		i := slices.Index(ids, primary)
		if i < 0 {
			return nil, fmt.Errorf("keysource: %s: %w: \"primary\" names %q, which is not a member", source, ErrSecret, safeID(primary))
		}
		ids = append(append([]string{primary}, ids[:i]...), ids[i+1:]...)
	}
	nks := make([]seal.NamedKey, len(ids))
	for i, id := range ids {
		k, err := seal.ParseKey(m[id])
		if err != nil {
			return nil, fmt.Errorf("keysource: %s: %w: member %q: %w", source, ErrSecret, safeID(id), err)
		}
		nks[i] = seal.NamedKey{ID: id, Key: k}
	}
	kr, err := seal.NewNamedKeyring(nks[0], nks[1:]...)
	if err != nil {
		return nil, fmt.Errorf("keysource: %s: %w: %w", source, ErrSecret, err)
	}
	return kr, nil
}

// safeID returns id if it is a valid key id, else a placeholder: an
// invalid id may be a key pasted in the wrong place.
func safeID(id string) string {
	if seal.ValidKeyID(id) {
		return id
	}
	return "(an invalid id)"
}

// compareVersions orders key ids: by the part before their trailing
// digits, then by the number those digits make, then as strings.
func compareVersions(a, b string) int {
	pa, na := splitVersion(a)
	pb, nb := splitVersion(b)
	return cmp.Or(strings.Compare(pa, pb), cmp.Compare(na, nb), strings.Compare(a, b))
}

func splitVersion(id string) (string, uint64) {
	i := len(id)
	for i > 0 && '0' <= id[i-1] && id[i-1] <= '9' {
		i--
	}
	n, err := strconv.ParseUint(id[i:], 10, 64)
	if err != nil {
		return id, 0
	}
	return id[:i], n
}

// rawOrText turns unwrapped key bytes, a key's text or its 32 raw bytes,
// into a Key.
func rawOrText(b []byte) (seal.Key, error) {
	if len(b) == 32 {
		return seal.ParseKey(encodeRaw(b))
	}
	return seal.ParseKey(string(bytes.TrimSpace(b)))
}
