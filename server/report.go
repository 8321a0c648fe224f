package server

import (
	"bytes"
	"errors"
	"net/http"
	"strings"

	"github.com/complyhq/comply/report"
)

// reports is GET /v1/reports?framework=&period=|start=&end=&format=:
// the compliance report (package report) of the period, as JSON (the
// default), Markdown or HTML. The retention is the server's Logger's
// (Options.RetentionDays, as comply serve's retention_days sets it), and
// so are the hash key and content storage the report's config states.
func (s *Server) reports(c *call) {
	in := report.Inputs{Logger: s.l, Verifiers: s.opts.Verifiers, Access: s.opts.AccessLog, Now: s.opts.Now,
		Config: report.Config{HashKey: s.l.HashesKeyed(), StoreContent: s.l.StoresContent()}}
	format := "json"
	if !c.params("framework, period, start, end or format", func(k, v string) error {
		switch k {
		case "framework":
			if v != "all" {
				in.Frameworks = strings.Split(v, ",")
			}
		case "period":
			p, err := report.ParsePeriod(v)
			if err != nil {
				return err
			}
			in.Period = p
		case "format":
			if v != "json" && v != "md" && v != "html" {
				return errors.New("want json, md or html")
			}
			format = v
		default:
			isTime, err := s.timeParam(k, v, &in.Period.Start, &in.Period.End)
			if !isTime {
				return errUnknownParam
			}
			return err
		}
		return nil
	}) {
		return
	}
	r, err := report.Build(c.r.Context(), in)
	if errors.Is(err, report.ErrInput) {
		c.fail(http.StatusBadRequest, err.Error())
		return
	}
	if err != nil {
		s.log.Error("report failed", "err", err)
		c.fail(http.StatusInternalServerError, "building the report failed")
		return
	}
	c.rec.Count = r.Population.Entries
	var b bytes.Buffer
	ctype := "application/json"
	switch format {
	case "md":
		err, ctype = report.WriteMarkdown(&b, r), "text/markdown; charset=utf-8"
	case "html":
		err, ctype = report.WriteHTML(&b, r), "text/html; charset=utf-8"
	default:
		err = report.WriteJSON(&b, r)
	}
	if err != nil {
		c.fail(http.StatusInternalServerError, "rendering the report failed")
		return
	}
	c.rec.Status = http.StatusOK
	if err := s.record(c.r.Context(), c.rec); err != nil {
		s.log.Error("access log: write failed; the read is refused", "route", c.route, "err", err)
		writeError(c.w, http.StatusServiceUnavailable, "the access log cannot be written: the read is refused")
		return
	}
	c.w.Header().Set("Content-Type", ctype)
	c.w.Header().Set("Cache-Control", "no-store")
	c.w.Header().Set("X-Content-Type-Options", "nosniff")
	c.w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	c.w.WriteHeader(http.StatusOK)
	c.w.Write(b.Bytes())
}
