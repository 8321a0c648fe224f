package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/complyhq/comply"
)

// timeseries is GET /v1/timeseries?start=&end=&since=&step=1h|1d&group_by=:
// the buckets of comply.Logger.Timeseries, as {"step": "1h", "group_by":
// "model", "buckets": [...]}. Without start or since it covers the last
// 24 hours; step defaults to 1h.
func (s *Server) timeseries(c *call) {
	q, err := s.parseTimeseries(c.r.URL.Query())
	if err != nil {
		c.fail(http.StatusBadRequest, err.Error())
		return
	}
	bs, err := s.l.Timeseries(c.r.Context(), q)
	var inv *comply.InvalidError
	if errors.As(err, &inv) {
		c.fail(http.StatusBadRequest, "parameter "+inv.Field+": "+inv.Err.Error())
		return
	}
	if err != nil {
		c.fail(http.StatusInternalServerError, "timeseries failed")
		return
	}
	step := "1h"
	if q.Step == 24*time.Hour {
		step = "1d"
	}
	c.replyJSON(http.StatusOK, struct {
		Step    string          `json:"step"`
		GroupBy string          `json:"group_by,omitempty"`
		Buckets []comply.Bucket `json:"buckets"`
	}{step, q.GroupBy, bs})
}

// parseTimeseries parses the query string of GET /v1/timeseries. Unknown
// parameters are refused.
func (s *Server) parseTimeseries(v url.Values) (comply.TimeseriesQuery, error) {
	q := comply.TimeseriesQuery{Step: time.Hour}
	bounded := false
	for k, vs := range v {
		if len(vs) != 1 {
			return q, fmt.Errorf("parameter %s given %d times", k, len(vs))
		}
		val := vs[0]
		isTime, err := s.timeParam(k, val, &q.Start, &q.End)
		bounded = bounded || k == "start" || k == "since"
		switch {
		case isTime:
		case k == "step":
			switch val {
			case "1h":
				q.Step = time.Hour
			case "1d", "24h":
				q.Step = 24 * time.Hour
			default:
				err = errors.New("want 1h or 1d")
			}
		case k == "group_by":
			switch val {
			case "", comply.GroupByModel, comply.GroupByProvider, comply.GroupByDetector:
				q.GroupBy = val
			default:
				err = errors.New("want model, provider or detector")
			}
		default:
			return q, fmt.Errorf("unknown parameter %q (want start, end, since, step or group_by)", k)
		}
		if err != nil {
			return q, fmt.Errorf("parameter %s: %v", k, err)
		}
	}
	if !bounded {
		q.Start = s.opts.Now().Add(-24 * time.Hour)
	}
	return q, nil
}
