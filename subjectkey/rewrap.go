package subjectkey

import (
	"context"
	"fmt"
	"strings"

	"github.com/complyhq/comply/seal"
)

// Rewrap re-wraps every wrapped key of the store (the name key and each
// subject's data key, whatever the subject key) under the keyring's key
// of id to, so that the key they were wrapped by can be retired. A blob
// already wrapped by to is left as it is; the data keys themselves, and
// so the content sealed under them, do not change. It returns how many
// blobs it rewrote and how many were already under to. A blob that does
// not unwrap stops it, naming the blob and the wrapping key's id.
//
// On S3 the previous version of a rewritten blob stays as a noncurrent
// version until the subject is erased (Erase destroys every version).
func Rewrap(ctx context.Context, st Store, kr *seal.Keyring, to string) (done, already int, err error) {
	if _, ok := kr.Key(to); !ok {
		return 0, 0, fmt.Errorf("subjectkey: rewrap: the keyring holds no key %q", to)
	}
	names, err := st.ListBlobs(ctx, "subjects/")
	if err != nil {
		return 0, 0, fmt.Errorf("subjectkey: %w", err)
	}
	v := &Vault{st: st, o: Options{Keyring: kr}}
	for _, n := range names {
		magic := dataKeyMagic
		switch {
		case n == nameKeyBlob:
			magic = nameKeyMagic
		case !strings.Contains(n, "/keys/"):
			continue // tombstones
		}
		b, err := st.ReadBlob(ctx, n)
		if err != nil {
			return done, already, fmt.Errorf("subjectkey: %w", err)
		}
		fields, raw, err := v.unwrap(magic, b)
		if err != nil {
			return done, already, fmt.Errorf("subjectkey: rewrap %s: %w", n, err)
		}
		if fields["wrapped-by"] == to {
			already++
			continue
		}
		blob, err := v.wrapWith(to, magic, keptFields(b), raw)
		clear(raw)
		if err != nil {
			return done, already, err
		}
		if err := st.WriteDestroyableBlob(ctx, n, blob); err != nil {
			return done, already, fmt.Errorf("subjectkey: rewrap %s: %w", n, err)
		}
		done++
	}
	return done, already, nil
}

// keptFields returns the lines of a key blob between its magic and its
// "wrapped-by" line, in order.
func keptFields(b []byte) []string {
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var out []string
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "wrapped-by ") {
			break
		}
		out = append(out, l)
	}
	return out
}
