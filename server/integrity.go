package server

import (
	"encoding/base64"
	"net/http"
	"time"

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

// integrity is GET /v1/integrity: the ledger's last checkpoint and the
// last verify result.
func (s *Server) integrity(c *call) {
	out := map[string]any{"ledger": false}
	if cp := s.checkpoint(); cp != nil {
		out = map[string]any{
			"ledger":      true,
			"origin":      cp.Origin,
			"size":        cp.Size,
			"root":        base64.StdEncoding.EncodeToString(cp.Root),
			"time":        cp.Time.UTC(),
			"age_seconds": s.opts.Now().Sub(cp.Time).Seconds(),
			"checkpoint":  string(s.l.Ledger().Latest()),
		}
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

// verify is POST /v1/verify: 'comply verify' of the store against its
// ledger, with the Verifiers. Verifications run one at a time.
func (s *Server) verify(c *call) {
	sst, ok := s.l.Store().(store.SidecarStore)
	if !ok || s.l.Ledger() == nil {
		c.fail(http.StatusConflict, "this server keeps no ledger: run it with a signing key")
		return
	}
	s.verifyMu.Lock()
	defer s.verifyMu.Unlock()
	r, err := ledger.Verify(c.r.Context(), sst, &ledger.VerifyOptions{Verifiers: s.opts.Verifiers, Now: s.opts.Now})
	res := &verifyResult{Time: s.opts.Now().UTC()}
	if err != nil {
		res.Error = err.Error()
		s.lastVerify = res
		c.fail(http.StatusInternalServerError, "verify failed: "+err.Error())
		return
	}
	res.OK, res.Summary, res.Entries, res.Valid, res.Problems = r.OK(), r.Summary(), r.Entries, r.Valid, len(r.Problems)
	s.lastVerify = res
	c.rec.Count = r.Entries
	c.replyJSON(http.StatusOK, map[string]any{"result": res, "report": r})
}

// access is GET /v1/access?start=&end=&token=&denied=true: the access log.
func (s *Server) access(c *call) {
	if s.opts.AccessLog == nil {
		c.fail(http.StatusNotFound, "no access log reader configured")
		return
	}
	var q accesslog.Query
	filters := map[string]string{}
	for k, vs := range c.r.URL.Query() {
		if len(vs) != 1 {
			c.fail(http.StatusBadRequest, "parameter "+k+" given more than once")
			return
		}
		v := vs[0]
		filters[k] = v
		var err error
		switch k {
		case "start":
			q.Start, err = parseTimeParam(v, false)
		case "end":
			q.End, err = parseTimeParam(v, true)
		case "token":
			q.Token = v
		case "denied":
			q.DeniedOnly = v == "true"
		default:
			c.fail(http.StatusBadRequest, "unknown parameter "+k+" (want start, end, token or denied)")
			return
		}
		if err != nil {
			c.fail(http.StatusBadRequest, "parameter "+k+": "+err.Error())
			return
		}
	}
	c.rec.Filters = filters
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
