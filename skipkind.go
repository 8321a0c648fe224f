package comply

import (
	"errors"
	"iter"
	"slices"

	"github.com/complyhq/comply/internal/skipfilter"
)

// filterKind is the skip filters as a kind of segment summary: its blob is
// a skipfilter.Set (docs/format.md, "Skip filters"), carrying the segment
// version it was built at.
type filterKind struct{ spec *filterSpec }

func (filterKind) name() string { return "skipfilter" }

// build returns the Set of a segment's entries. A line that cannot be read
// fails it: the segment is then scanned, so that the query yields the
// damaged line as a full scan would.
func (k filterKind) build(entries iter.Seq2[*Entry, error]) (any, error) {
	b := k.spec.builder()
	for e, err := range entries {
		if err != nil {
			return nil, err
		}
		k.spec.add(b, e)
	}
	return b.Set(), nil
}

func (filterKind) encode(v any, version string) []byte {
	s := *v.(*skipfilter.Set)
	s.Segment = version
	return s.Marshal()
}

// errOtherKeys marks a Set built for other metadata keys: stale.
var errOtherKeys = errors.New("skip filters of other metadata keys")

// decode returns the Set of a blob, refusing one built for other metadata
// keys than the spec's (so that it is rebuilt).
func (k filterKind) decode(blob []byte) (any, string, error) {
	s, err := skipfilter.Unmarshal(blob)
	if err != nil {
		return nil, "", err
	}
	want := append([]string{filterConversation, filterInputHash, filterOutputHash}, k.spec.fields...)
	slices.Sort(want)
	if !slices.Equal(slices.Compact(want), s.Fields()) {
		return nil, "", errOtherKeys
	}
	return s, s.Segment, nil
}
