package server

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/complyhq/comply/ledger"
	"github.com/complyhq/comply/server/accesslog"
	"github.com/complyhq/comply/store"
)

// verifyResult is the outcome of the last POST /v1/verify.
type verifyResult struct {
	Time     time.Time `json:"time"`
	OK       bool      `json:"ok"`
	Summary  string    `json:"summary"`
	Entries  int64     `json:"entries"`
	Valid    int64     `json:"valid"`
	Problems int       `json:"problems"`
	Error    string    `json:"error,omitempty"`
}

// maxTimeline bounds the range of the heartbeat timeline.
const maxTimeline = 31 * 24 * time.Hour

// integrity is GET /v1/integrity?since=|start=&end=: the ledger's last
// checkpoint, the last verify result, and the timeline of the range (24
// hours by default, up to 31 days).
func (s *Server) integrity(c *call) {
	now := s.opts.Now()
	start, end := now.Add(-24*time.Hour), time.Time{}
	if !c.params("since, start or end", func(k, v string) error {
		isTime, err := s.timeParam(k, v, &start, &end)
		if !isTime {
			return errUnknownParam
		}
		return err
	}) {
		return
	}
	if to := cmp.Or(end, now); to.Sub(start) > maxTimeline || to.Before(start) {
		c.fail(http.StatusBadRequest, "the range is longer than 31 days or ends before it starts")
		return
	}
	out := map[string]any{"ledger": false}
	if cp := s.checkpoint(); cp != nil {
		out = map[string]any{
			"ledger":      true,
			"origin":      cp.Origin,
			"size":        cp.Size,
			"root":        base64.StdEncoding.EncodeToString(cp.Root),
			"time":        cp.Time.UTC(),
			"age_seconds": now.Sub(cp.Time).Seconds(),
			"checkpoint":  string(s.l.Ledger().Latest()),
		}
		tl, err := s.timeline(c.r.Context(), cp.Origin, start, end)
		if err != nil {
			s.log.Error("checkpoint history", "err", err)
			c.fail(http.StatusInternalServerError, "reading the checkpoint history failed")
			return
		}
		out["timeline"] = tl
	}
	s.verifyMu.Lock()
	if s.lastVerify != nil {
		out["last_verify"] = *s.lastVerify
	} else {
		out["last_verify"] = nil
	}
	s.verifyMu.Unlock()
	c.replyJSON(http.StatusOK, out)
}

// timeline is the heartbeat timeline of [start, end] (end zero: now):
// the checkpoints of the range from the ledger's history, merged into
// spans (ledger.Timeline).
func (s *Server) timeline(ctx context.Context, origin string, start, end time.Time) (map[string]any, error) {
	out := map[string]any{"start": start.UTC(), "end": nil, "checkpoints": 0, "spans": []ledger.Span{}}
	if !end.IsZero() {
		out["end"] = end.UTC()
	}
	sc, ok := s.l.Store().(store.Sidecar)
	if !ok || len(s.opts.Verifiers) == 0 {
		out["unavailable"] = "no verifier key: run comply serve with the ledger's verifier"
		return out, nil
	}
	cps, err := ledger.History(ctx, sc, origin, note.VerifierList(s.opts.Verifiers...), start, end)
	if err != nil {
		return nil, err
	}
	out["checkpoints"] = len(cps)
	var now time.Time
	if end.IsZero() {
		now = s.opts.Now()
	}
	if spans := ledger.Timeline(cps, now); spans != nil {
		out["spans"] = spans
	}
	return out, nil
}

// verify is POST /v1/verify: 'comply verify' of the store against its
// ledger, with the Verifiers. Verifications run one at a time. With
// Accept: application/x-ndjson the answer streams: {"progress": {"read":
// N, "total": M}} lines as it reads (M is the store's count as it starts;
// the first says 0, the last all it read), then {"result", "report"} or
// {"error"}.
func (s *Server) verify(c *call) {
	sst, ok := s.l.Store().(store.SidecarStore)
	if !ok || s.l.Ledger() == nil {
		c.fail(http.StatusConflict, "this server keeps no ledger: run it with a signing key")
		return
	}
	s.verifyMu.Lock()
	defer s.verifyMu.Unlock()
	opts := &ledger.VerifyOptions{Verifiers: s.opts.Verifiers, Now: s.opts.Now}
	var ps *progressStream
	if acceptsNDJSON(c.r.Header.Get("Accept")) {
		if ps = s.startProgress(c); ps == nil {
			return
		}
		opts.Progress = ps.progress
	}
	r, err := ledger.Verify(c.r.Context(), sst, opts)
	res := &verifyResult{Time: s.opts.Now().UTC()}
	if err != nil {
		res.Error = err.Error()
		s.lastVerify = res
		if ps != nil {
			ps.end(map[string]any{"error": "verify failed: " + err.Error()}, 0)
			return
		}
		c.fail(http.StatusInternalServerError, "verify failed: "+err.Error())
		return
	}
	res.OK, res.Summary, res.Entries, res.Valid, res.Problems = r.OK(), r.Summary(), r.Entries, r.Valid, len(r.Problems)
	s.lastVerify = res
	out := map[string]any{"result": res, "report": r}
	if ps != nil {
		ps.end(out, r.Entries)
		return
	}
	c.rec.Count = r.Entries
	c.replyJSON(http.StatusOK, out)
}

// A progressStream is the NDJSON answer of a verify with progress.
type progressStream struct {
	c     *call
	rc    *http.ResponseController
	enc   *json.Encoder
	total int64
	last  time.Time
	err   error
}

// progressEvery is the least time between two progress lines.
const progressEvery = 200 * time.Millisecond

// startProgress records the access (count -1: a stream, as GET
// /v1/entries streams) and starts the NDJSON answer; nil if it answered
// 503 because the record could not be written.
func (s *Server) startProgress(c *call) *progressStream {
	total, err := s.l.Count(c.r.Context())
	if err != nil {
		total = 0 // unknown: the page shows the lines read only
	}
	c.rec.Count, c.rec.Status = -1, http.StatusOK
	if err := s.record(c.r.Context(), c.rec); err != nil {
		s.log.Error("access log: write failed; the read is refused", "route", c.route, "err", err)
		writeError(c.w, http.StatusServiceUnavailable, "the access log cannot be written: the read is refused")
		return nil
	}
	c.w.Header().Set("Content-Type", "application/x-ndjson")
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.Header().Set("X-Content-Type-Options", "nosniff")
	c.w.WriteHeader(http.StatusOK)
	ps := &progressStream{c: c, rc: http.NewResponseController(c.w), enc: json.NewEncoder(c.w), total: total}
	ps.line(map[string]any{"progress": map[string]int64{"read": 0, "total": total}})
	return ps
}

// progress is the VerifyOptions.Progress of a streamed verify.
func (ps *progressStream) progress(read int64) {
	if now := time.Now(); now.Sub(ps.last) >= progressEvery {
		ps.line(map[string]any{"progress": map[string]int64{"read": read, "total": ps.total}})
	}
}

func (ps *progressStream) line(v any) {
	if ps.err != nil {
		return
	}
	ps.rc.SetWriteDeadline(time.Now().Add(ps.c.s.opts.WriteTimeout))
	if ps.err = ps.enc.Encode(v); ps.err == nil {
		ps.err = ps.rc.Flush()
	}
	ps.last = time.Now()
}

// end writes the last line and records the access again with its count.
func (ps *progressStream) end(v any, count int64) {
	if count > 0 {
		ps.line(map[string]any{"progress": map[string]int64{"read": count, "total": ps.total}})
	}
	ps.line(v)
	end := *ps.c.rec
	end.Time, end.Count = ps.c.s.opts.Now().UTC(), count
	if ps.err != nil {
		end.Reason = "stream ended early: " + ps.err.Error()
	}
	if err := ps.c.s.record(ps.c.r.Context(), &end); err != nil {
		ps.c.s.log.Error("access log: the end of a verify could not be recorded", "err", err)
	}
}

// access is GET /v1/access?start=&end=&token=&denied=true: the access log.
func (s *Server) access(c *call) {
	if s.opts.AccessLog == nil {
		c.fail(http.StatusNotFound, "no access log reader configured")
		return
	}
	var q accesslog.Query
	if !c.params("since, start, end, token or denied", func(k, v string) error {
		isTime, err := s.timeParam(k, v, &q.Start, &q.End)
		switch {
		case isTime:
		case k == "token":
			q.Token = v
		case k == "denied":
			q.DeniedOnly = v == "true"
		default:
			return errUnknownParam
		}
		return err
	}) {
		return
	}
	recs := []accesslog.Record{}
	for r, err := range s.opts.AccessLog(c.r.Context(), q) {
		if err != nil {
			s.log.Error("access log read failed", "err", err)
			c.fail(http.StatusInternalServerError, "reading the access log failed")
			return
		}
		recs = append(recs, r)
		if len(recs) > 100_000 {
			c.fail(http.StatusBadRequest, "more than 100000 records: narrow start and end")
			return
		}
	}
	c.rec.Count = int64(len(recs))
	c.replyJSON(http.StatusOK, map[string]any{"records": recs})
}
