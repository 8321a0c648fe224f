package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/store"
)

// Breakdown bounds: the default and largest number of names listed.
const (
	defaultBreakdownLimit = 10
	maxBreakdownLimit     = 100
)

// breakdownKeys maps a GET /v1/breakdown "by" to the metadata key it
// counts.
var breakdownKeys = map[string]string{"user": "user_id"}

// breakdown is GET /v1/breakdown?by=user&since=|start=&end=&limit=: the
// busiest users (metadata user_id) of a range, most entries first. The
// rollups do not keep users, so it scans the range's entries (filters:
// the Query's time bounds only) and counts them in memory, one counter
// per distinct user. The safety failures by detector and by block
// reason, which the rollups keep, are in GET /v1/stats.
func (s *Server) breakdown(c *call) {
	q := comply.Query{Start: s.opts.Now().Add(-24 * time.Hour)}
	by, limit := "", defaultBreakdownLimit
	if !c.params("by, since, start, end or limit", func(k, v string) error {
		isTime, err := s.timeParam(k, v, &q.Start, &q.End)
		switch {
		case isTime:
		case k == "by":
			if _, ok := breakdownKeys[v]; !ok {
				err = errors.New("want user")
			}
			by = v
		case k == "limit":
			limit, err = strconv.Atoi(v)
			if err == nil && (limit < 1 || limit > maxBreakdownLimit) {
				err = fmt.Errorf("want 1 to %d", maxBreakdownLimit)
			}
		default:
			return errUnknownParam
		}
		return err
	}) {
		return
	}
	if by == "" {
		c.fail(http.StatusBadRequest, "parameter by: want user")
		return
	}
	key := breakdownKeys[by]
	needle := []byte(strconv.Quote(key))
	counts := map[string]int64{}
	var scanned, without int64
	for e, err := range s.l.Query(c.r.Context(), q) {
		if err != nil {
			if _, ok := errors.AsType[*store.CorruptionError](err); ok {
				continue
			}
			s.log.Error("breakdown failed", "err", err)
			c.fail(http.StatusInternalServerError, "the breakdown failed")
			return
		}
		scanned++
		name, ok := metaValue(e.Metadata, key, needle)
		if !ok {
			without++
			continue
		}
		counts[name]++
	}
	top := make([]comply.NameCount, 0, len(counts))
	for name, n := range counts {
		top = append(top, comply.NameCount{Name: name, Entries: n})
	}
	slices.SortFunc(top, func(a, b comply.NameCount) int {
		if a.Entries != b.Entries {
			if a.Entries > b.Entries {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name, b.Name)
	})
	distinct := len(top)
	top = top[:min(limit, len(top))]
	c.rec.Count = int64(len(top))
	c.replyJSON(http.StatusOK, map[string]any{
		"by": by, "key": key, "start": q.Start.UTC(), "entries": scanned, "without": without,
		"distinct": distinct, "top": top,
	})
}

// metaValue returns the metadata's top-level key as text: a string as
// is, any other value but null as compact JSON. needle is the key
// quoted, to skip the metadata that cannot have it without decoding.
func metaValue(md json.RawMessage, key string, needle []byte) (string, bool) {
	if !bytes.Contains(md, needle) {
		return "", false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(md, &m) != nil {
		return "", false
	}
	v, ok := m[key]
	if !ok || string(v) == "null" {
		return "", false
	}
	var str string
	if json.Unmarshal(v, &str) == nil {
		return str, true
	}
	var buf bytes.Buffer
	if json.Compact(&buf, v) != nil {
		return "", false
	}
	return buf.String(), true
}
