package server

import (
	"net/http"
	"time"

	"github.com/complyhq/comply/llm"
	"github.com/complyhq/comply/proxy"
	"github.com/complyhq/comply/server/auth"
)

// TokenHeader carries the ingest token on the proxy routes, whose
// Authorization header belongs to the upstream API. It is removed before
// the request goes upstream.
const TokenHeader = "X-Comply-Token"

// proxyHandler returns the handler of /proxy/{up.Name}/: the ingest token
// in TokenHeader, then the audit proxy of package proxy to the upstream,
// every entry with the upstream's name in its metadata ("upstream").
func (s *Server) proxyHandler(up Upstream) http.Handler {
	t := &llm.Transport{
		Base:   timed{rt: proxy.UpstreamTransport(), obs: s.m.upstream.WithLabelValues(up.Name)},
		Logger: s.l,
		Route:  "proxy/" + up.Name,
		Input:  up.Input,
		Prices: up.Prices,
		OnError: func(err error) {
			s.m.writeErrors.Inc()
			s.log.Error("proxy: entry not written; the call failed (fail-closed)", "upstream", up.Name, "err", err)
		},
	}
	s.proxies = append(s.proxies, t)
	prefix := "/proxy/" + up.Name
	h := http.StripPrefix(prefix, proxy.New(up.URL, t))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, status, msg := s.authenticate(r, TokenHeader)
		r.Header.Del(TokenHeader)
		if status == 0 && !tok.Role.Allows(auth.Ingest) {
			status, msg = http.StatusForbidden, "token "+tok.Name+" has role "+string(tok.Role)+"; the proxy needs ingest"
		}
		if status != 0 {
			writeError(w, status, msg)
			return
		}
		ctx := llm.WithMetadata(r.Context(), map[string]any{"upstream": up.Name})
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// timed observes the time to the response headers of each round trip.
type timed struct {
	rt  http.RoundTripper
	obs interface{ Observe(float64) }
}

func (t timed) RoundTrip(r *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.rt.RoundTrip(r)
	t.obs.Observe(time.Since(start).Seconds())
	return resp, err
}
