package server

import (
	"bufio"
	"container/heap"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/complyhq/comply"
	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/seal"
	"github.com/complyhq/comply/store"
)

// listQuery is a parsed GET /v1/entries.
type listQuery struct {
	q      comply.Query
	limit  int
	cursor *cursor
}

// A cursor is the position after the last entry of a page: entries sort
// newest first by (timestamp, id).
type cursor struct {
	ts int64 // unix microseconds
	id string
}

func (c cursor) encode() string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.ts, 10) + ":" + c.id))
}

func decodeCursor(s string) (*cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("invalid cursor")
	}
	ts, id, ok := strings.Cut(string(b), ":")
	n, err := strconv.ParseInt(ts, 10, 64)
	if !ok || err != nil || id == "" {
		return nil, errors.New("invalid cursor")
	}
	return &cursor{ts: n, id: id}, nil
}

// before reports whether e sorts after the cursor in newest-first order.
func (c *cursor) before(e *comply.Entry) bool {
	if c == nil {
		return true
	}
	ts := e.Timestamp.UnixMicro()
	return ts < c.ts || ts == c.ts && e.ID < c.id
}

// parseList parses the query string of GET /v1/entries. Unknown
// parameters are refused.
func (s *Server) parseList(v url.Values) (listQuery, map[string]string, error) {
	lq := listQuery{limit: DefaultPageSize}
	filters := map[string]string{}
	for k, vs := range v {
		if len(vs) != 1 {
			return lq, nil, fmt.Errorf("parameter %s given %d times", k, len(vs))
		}
		val := vs[0]
		if k != "cursor" {
			filters[k] = val
		}
		isTime, err := s.timeParam(k, val, &lq.q.Start, &lq.q.End)
		switch {
		case isTime:
		case k == "provider":
			lq.q.Provider = val
		case k == "model":
			lq.q.Model = val
		case k == "conversation_id":
			lq.q.ConversationID = val
		case k == "input_hash", k == "output_hash":
			err = setContentFilter(&lq.q, k, val)
		case k == "input_text", k == "output_text":
			// Find by content: the text is hashed as the Logger hashes
			// content, and only its hash is kept (the access record
			// stores the hash, never the text).
			filters[k] = s.l.Hash(val)
			err = setContentFilter(&lq.q, k, filters[k])
		case k == "safety_failed":
			lq.q.SafetyFailed, err = strconv.ParseBool(val)
		case k == "safety":
			switch val {
			case "failed":
				lq.q.SafetyFailed = true
			case "passed":
				lq.q.SafetyPassed = true
			default:
				err = errors.New("want passed or failed")
			}
		case k == "detector":
			lq.q.Detector = val
		case k == "limit":
			lq.limit, err = strconv.Atoi(val)
			if err == nil && (lq.limit < 1 || lq.limit > MaxPageSize) {
				err = fmt.Errorf("want 1 to %d", MaxPageSize)
			}
		case k == "cursor":
			lq.cursor, err = decodeCursor(val)
		case strings.HasPrefix(k, "meta.") && len(k) > 5:
			if lq.q.Metadata == nil {
				lq.q.Metadata = map[string]string{}
			}
			lq.q.Metadata[k[5:]] = val
		default:
			return lq, nil, fmt.Errorf("unknown parameter %q (want start, end, since, provider, model, conversation_id, input_hash, output_hash, input_text, output_text, safety, safety_failed, detector, meta.KEY, limit or cursor)", k)
		}
		if err != nil {
			return lq, nil, fmt.Errorf("parameter %s: %v", k, err)
		}
	}
	if lq.q.SafetyFailed && lq.q.SafetyPassed {
		return lq, nil, errors.New("parameters safety and safety_failed: passed and failed at once")
	}
	return lq, filters, nil
}

// setContentFilter sets q's input or output hash filter from the parameter
// k (input_hash or input_text, output_...), refusing a second one.
func setContentFilter(q *comply.Query, k, hash string) error {
	dst := &q.InputHash
	if strings.HasPrefix(k, "output_") {
		dst = &q.OutputHash
	}
	if *dst != "" {
		return errors.New("give the text or the hash, not both")
	}
	*dst = hash
	return nil
}

// parseSince parses a duration: Go's ("36h") or days ("7d").
func parseSince(s string) (time.Duration, error) {
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(d, 64)
		if err != nil || n <= 0 || n > 36525 {
			return 0, errors.New("want a duration such as 7d or 36h")
		}
		return time.Duration(n * float64(24*time.Hour)), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, errors.New("want a duration such as 7d or 36h")
	}
	return d, nil
}

// getEntries is GET /v1/entries: a page, newest first, or with Accept:
// application/x-ndjson every match in storage order.
func (s *Server) getEntries(c *call) {
	lq, filters, err := s.parseList(c.r.URL.Query())
	if err != nil {
		c.fail(http.StatusBadRequest, err.Error())
		return
	}
	c.rec.Filters = filters
	if acceptsNDJSON(c.r.Header.Get("Accept")) {
		s.stream(c, lq.q)
		return
	}
	page, more, err := s.page(c.r.Context(), lq)
	if err != nil {
		s.log.Error("query failed", "err", err)
		c.fail(http.StatusInternalServerError, "the query failed")
		return
	}
	buf := make([]byte, 0, 1024*len(page)+64)
	buf = append(buf, `{"entries":[`...)
	for i := range page {
		if i > 0 {
			buf = append(buf, ',')
		}
		if buf, err = page[i].AppendJSON(buf); err != nil {
			c.fail(http.StatusInternalServerError, "encoding an entry failed")
			return
		}
	}
	buf = append(buf, `],"next_cursor":`...)
	if more && len(page) > 0 {
		last := &page[len(page)-1]
		buf = strconv.AppendQuote(buf, cursor{ts: last.Timestamp.UnixMicro(), id: last.ID}.encode())
	} else {
		buf = append(buf, "null"...)
	}
	buf = append(buf, "}\n"...)
	c.rec.Count = int64(len(page))
	c.reply(http.StatusOK, buf)
}

func acceptsNDJSON(accept string) bool {
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "application/x-ndjson") {
			return true
		}
	}
	return false
}

// page returns the newest lq.limit entries that match lq and sort after
// its cursor, newest first, and whether there may be more. It walks back
// from the end bound a window at a time (an hour, doubling while the page
// is not full, up to 64 days), keeping the newest limit entries, and stops
// at the first window that fills the page or at the oldest entry. A
// query for a conversation or a content hash, which the skip filters
// answer from few blocks, is one window over the whole range.
func (s *Server) page(ctx context.Context, lq listQuery) ([]comply.Entry, bool, error) {
	oldest, ok, err := s.oldest(ctx)
	if err != nil || !ok {
		return nil, false, err
	}
	end := lq.q.End
	if end.IsZero() {
		end = s.opts.Now().Add(2 * comply.MaxFutureSkew)
	}
	if lq.cursor != nil {
		if ct := time.UnixMicro(lq.cursor.ts); ct.Before(end) {
			end = ct
		}
	}
	floor := oldest
	if !lq.q.Start.IsZero() && lq.q.Start.After(floor) {
		floor = lq.q.Start
	}
	h := &entryHeap{}
	span := time.Hour
	if lq.q.ConversationID != "" || lq.q.InputHash != "" || lq.q.OutputHash != "" {
		// The skip filters find these in few blocks of the whole range:
		// one query over it beats windows that rarely fill a page.
		span = end.Sub(floor) + time.Nanosecond
	}
	for !end.Before(floor) {
		start := end.Add(-span)
		if start.Before(floor) {
			start = floor
		}
		q := lq.q
		q.Start, q.End = start, end
		n := 0
		for e, err := range s.l.Query(ctx, q) {
			if err != nil {
				if _, ok := errors.AsType[*store.CorruptionError](err); ok {
					continue
				}
				return nil, false, err
			}
			if !lq.cursor.before(&e) {
				continue
			}
			n++
			heap.Push(h, e)
			if h.Len() > lq.limit+1 {
				heap.Pop(h)
			}
		}
		if h.Len() > lq.limit {
			break
		}
		if h.Len() <= lq.limit && span < 64*24*time.Hour {
			span *= 2
		}
		end = start.Add(-time.Nanosecond)
	}
	more := h.Len() > lq.limit
	if more {
		heap.Pop(h) // the oldest, beyond the page: there is more
	}
	out := make([]comply.Entry, h.Len())
	for i := len(out) - 1; i >= 0; i-- {
		out[i] = heap.Pop(h).(comply.Entry)
	}
	return out, more, nil
}

// oldest returns the earliest time an entry may have: the start of the
// UTC day of the first entry in storage order (the oldest partition).
func (s *Server) oldest(ctx context.Context) (time.Time, bool, error) {
	for e, err := range s.l.Query(ctx, comply.Query{}) {
		if err != nil {
			if _, ok := errors.AsType[*store.CorruptionError](err); ok {
				continue
			}
			return time.Time{}, false, err
		}
		return e.Timestamp.UTC().Truncate(24*time.Hour).AddDate(0, 0, -1), true, nil
	}
	return time.Time{}, false, nil
}

// entryHeap is a min-heap of entries by (timestamp, id): its root is the
// oldest kept.
type entryHeap []comply.Entry

func (h entryHeap) Len() int { return len(h) }
func (h entryHeap) Less(i, j int) bool {
	a, b := h[i].Timestamp, h[j].Timestamp
	if !a.Equal(b) {
		return a.Before(b)
	}
	return h[i].ID < h[j].ID
}
func (h entryHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *entryHeap) Push(x any)   { *h = append(*h, x.(comply.Entry)) }
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	*h = old[:len(old)-1]
	return e
}

// stream writes every entry that matches q as NDJSON, in storage order,
// flushing as it goes. The access is recorded before the first byte
// (count -1: a stream), and again with the count when it ends.
func (s *Server) stream(c *call, q comply.Query) {
	c.rec.Count = -1
	c.rec.Status = http.StatusOK
	if err := s.record(c.r.Context(), c.rec); err != nil {
		s.log.Error("access log: write failed; the read is refused", "route", c.route, "err", err)
		writeError(c.w, http.StatusServiceUnavailable, "the access log cannot be written: the read is refused")
		return
	}
	rc := http.NewResponseController(c.w)
	c.w.Header().Set("Content-Type", "application/x-ndjson")
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(c.w, 256<<10)
	var n int64
	var buf []byte
	var ferr error
	deadline := func() { rc.SetWriteDeadline(time.Now().Add(s.opts.WriteTimeout)) }
	deadline()
	for e, err := range s.l.Query(c.r.Context(), q) {
		if err != nil {
			if _, ok := errors.AsType[*store.CorruptionError](err); ok {
				s.log.Warn("stream: damaged line skipped", "err", err)
				continue
			}
			ferr = err
			break
		}
		if buf, err = e.AppendJSON(buf[:0]); err != nil {
			ferr = err
			break
		}
		buf = append(buf, '\n')
		if bw.Available() < len(buf) {
			deadline()
		}
		if _, err := bw.Write(buf); err != nil {
			ferr = err
			break
		}
		n++
	}
	if ferr == nil {
		deadline()
		ferr = bw.Flush()
	}
	end := *c.rec
	end.Time, end.Count = s.opts.Now().UTC(), n
	if ferr != nil {
		end.Reason = "stream ended early: " + ferr.Error()
		s.log.Warn("stream ended early", "entries", n, "err", ferr)
	}
	if err := s.record(c.r.Context(), &end); err != nil {
		s.log.Error("access log: the end of a stream could not be recorded", "err", err)
	}
}

// getEntry is GET /v1/entries/{id}.
func (s *Server) getEntry(c *call) {
	e, ok := s.lookup(c)
	if !ok {
		return
	}
	b, err := e.AppendJSON(nil)
	if err != nil {
		c.fail(http.StatusInternalServerError, "encoding the entry failed")
		return
	}
	c.rec.Count = 1
	c.reply(http.StatusOK, append(b, '\n'))
}

// lookup gets the entry of the {id} path value, answering 400, 404 or 500
// itself when it cannot.
func (s *Server) lookup(c *call) (comply.Entry, bool) {
	id := c.r.PathValue("id")
	c.rec.IDs = []string{id}
	e, err := s.l.Get(c.r.Context(), id)
	var ie *comply.InvalidError
	switch {
	case errors.Is(err, comply.ErrNotFound):
		c.fail(http.StatusNotFound, "entry "+id+" not found")
	case errors.As(err, &ie):
		c.fail(http.StatusBadRequest, trimComply(err))
	case err != nil:
		s.log.Error("get failed", "err", err)
		c.fail(http.StatusInternalServerError, "reading the entry failed")
	default:
		return e, true
	}
	return comply.Entry{}, false
}

// maxReason bounds the reason given for a decryption, in bytes.
const maxReason = 1000

// decrypt is POST /v1/entries/{id}/decrypt?reason=: the entry's content,
// null where it is not stored (hash-only). The reason, optional, is kept
// in the access record (as the filter "reason").
func (s *Server) decrypt(c *call) {
	for k, vs := range c.r.URL.Query() {
		if k != "reason" || len(vs) != 1 {
			c.fail(http.StatusBadRequest, "want only the parameter reason, once")
			return
		}
		if len(vs[0]) > maxReason {
			c.fail(http.StatusBadRequest, fmt.Sprintf("parameter reason: longer than %d bytes", maxReason))
			return
		}
		if r := strings.TrimSpace(vs[0]); r != "" {
			c.rec.Filters = map[string]string{"reason": r}
		}
	}
	e, ok := s.lookup(c)
	if !ok {
		return
	}
	out := map[string]any{"id": e.ID, "input": nil, "output": nil}
	for _, f := range []struct{ key, content string }{{"input", e.InputContent}, {"output", e.OutputContent}} {
		if f.content == "" {
			continue
		}
		text, err := s.l.DecryptEntryContent(&e, f.content)
		if errors.Is(err, comply.ErrNoEncryption) {
			c.fail(http.StatusConflict, "the server has no decryption key")
			return
		}
		if errors.Is(err, seal.ErrNeedsIdentity) {
			c.fail(http.StatusConflict, "the content is sealed to a public key and the server has no identity (private key) for it")
			return
		}
		if err != nil {
			c.fail(http.StatusInternalServerError, "the content does not decrypt with the server's keys")
			return
		}
		out[f.key] = text
	}
	c.rec.Count = 1
	c.replyJSON(http.StatusOK, out)
}

// getProof is GET /v1/entries/{id}/proof: what 'comply prove' writes.
func (s *Server) getProof(c *call) {
	id := c.r.PathValue("id")
	c.rec.IDs = []string{id}
	sst, ok := s.l.Store().(store.SidecarStore)
	if !ok || s.l.Ledger() == nil {
		c.fail(http.StatusConflict, "this server keeps no ledger: run it with a signing key")
		return
	}
	p, err := ledger.Prove(c.r.Context(), sst, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.fail(http.StatusNotFound, "entry "+id+" not found")
		return
	case errors.Is(err, ledger.ErrNotCheckpointed):
		c.w.Header().Set("Retry-After", "1")
		c.fail(http.StatusConflict, "no checkpoint signs the entry yet; retry after the next checkpoint")
		return
	case err != nil:
		s.log.Error("prove failed", "err", err)
		c.fail(http.StatusInternalServerError, "the proof could not be made")
		return
	}
	b, err := p.Marshal()
	if err != nil {
		c.fail(http.StatusInternalServerError, "encoding the proof failed")
		return
	}
	c.rec.Count = 1
	c.reply(http.StatusOK, b)
}

// count is GET /v1/count.
func (s *Server) count(c *call) {
	n, err := s.l.Count(c.r.Context())
	if err != nil {
		c.fail(http.StatusInternalServerError, "counting failed")
		return
	}
	c.replyJSON(http.StatusOK, map[string]int64{"count": n})
}

// stats is GET /v1/stats?since=: the fields of 'comply stats --json'.
func (s *Server) stats(c *call) {
	since := s.opts.Now().Add(-24 * time.Hour)
	for k, vs := range c.r.URL.Query() {
		if k != "since" || len(vs) != 1 {
			c.fail(http.StatusBadRequest, "want only the parameter since")
			return
		}
		if d, err := parseSince(vs[0]); err == nil {
			since = s.opts.Now().Add(-d)
		} else if t, err := comply.ParseTime(vs[0], false); err == nil {
			since = t
		} else {
			c.fail(http.StatusBadRequest, "parameter since: want a duration (24h, 7d) or a time")
			return
		}
	}
	st, err := s.l.Stats(c.r.Context(), since)
	if err != nil {
		c.fail(http.StatusInternalServerError, "stats failed")
		return
	}
	c.replyJSON(http.StatusOK, st)
}

// timeParam sets *start or *end from a read's since, start or end
// parameter, and reports whether k is one of them.
func (s *Server) timeParam(k, v string, start, end *time.Time) (bool, error) {
	var err error
	switch k {
	case "start":
		*start, err = comply.ParseTime(v, false)
	case "end":
		*end, err = comply.ParseTime(v, true)
	case "since":
		var d time.Duration
		if d, err = parseSince(v); err == nil {
			*start = s.opts.Now().Add(-d)
		}
	default:
		return false, nil
	}
	return true, err
}
