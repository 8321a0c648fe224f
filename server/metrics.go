package server

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/complyhq/comply/ledger"
)

// metrics are the server's Prometheus metrics. It is a Collector itself
// for the values read at scrape time (entries written by the proxies, the
// checkpoint's age).
type metrics struct {
	s           *Server
	api, otlp   atomic.Int64
	append      prometheus.Histogram
	sync        prometheus.Histogram
	writeErrors prometheus.Counter
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	upstream    *prometheus.HistogramVec
	reads       *prometheus.CounterVec

	writtenDesc, cpAgeDesc *prometheus.Desc
}

var latencyBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

func newMetrics(s *Server) *metrics {
	return &metrics{
		s: s,
		append: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "comply_append_duration_seconds",
			Help: "Time of one LogBatch: from the call until the entries are durable.", Buckets: latencyBuckets}),
		sync: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "comply_fsync_duration_seconds",
			Help: "Time of one store sync (an fsync of the file store, a PUT of the S3 store).", Buckets: latencyBuckets}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "comply_write_errors_total",
			Help: "Batches of entries that could not be written (store failures, not invalid input)."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "comply_http_requests_total",
			Help: "HTTP requests by route pattern and status code."}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "comply_http_request_duration_seconds",
			Help: "HTTP request durations by route pattern.", Buckets: latencyBuckets}, []string{"route"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "comply_upstream_duration_seconds",
			Help: "Time to the response headers of the upstream LLM APIs, by upstream.", Buckets: latencyBuckets}, []string{"upstream"}),
		reads: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "comply_reads_total",
			Help: "Reads of evidence (recorded in the access log), refused ones included, by the token's role."}, []string{"role"}),
		writtenDesc: prometheus.NewDesc("comply_entries_written_total", "Entries written, by source: api (POST /v1/entries), otlp (POST /v1/traces), proxy.", []string{"source"}, nil),
		cpAgeDesc:   prometheus.NewDesc("comply_checkpoint_age_seconds", "Age of the ledger's latest signed checkpoint (absent without a ledger).", nil, nil),
	}
}

func (m *metrics) written(source string, n int) {
	switch source {
	case "api":
		m.api.Add(int64(n))
	case "otlp":
		m.otlp.Add(int64(n))
	}
}

func (m *metrics) children() []prometheus.Collector {
	return []prometheus.Collector{m.append, m.sync, m.writeErrors, m.requests, m.duration, m.upstream, m.reads}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.children() {
		c.Describe(ch)
	}
	ch <- m.writtenDesc
	ch <- m.cpAgeDesc
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.children() {
		c.Collect(ch)
	}
	var proxy int64
	for _, t := range m.s.proxies {
		proxy += t.Stats().Logged
	}
	for _, v := range []struct {
		source string
		n      int64
	}{{"api", m.api.Load()}, {"otlp", m.otlp.Load()}, {"proxy", proxy}} {
		ch <- prometheus.MustNewConstMetric(m.writtenDesc, prometheus.CounterValue, float64(v.n), v.source)
	}
	if cp := m.s.checkpoint(); cp != nil {
		ch <- prometheus.MustNewConstMetric(m.cpAgeDesc, prometheus.GaugeValue, m.s.opts.Now().Sub(cp.Time).Seconds())
	}
}

// checkpoint returns the ledger's latest checkpoint, or nil.
func (s *Server) checkpoint() *ledger.Checkpoint {
	lg := s.l.Ledger()
	if lg == nil {
		return nil
	}
	msg := lg.Latest()
	i := bytes.Index(msg, []byte("\n\n"))
	if i < 0 {
		return nil
	}
	cp, err := ledger.ParseCheckpoint(string(msg[:i+1]))
	if err != nil {
		return nil
	}
	return cp
}

func promHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg})
}

// instrument counts the requests and their durations by route pattern.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" || route == "/" {
			route = "other"
		}
		s.m.requests.WithLabelValues(route, strconv.Itoa(sw.status)).Inc()
		s.m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// statusWriter keeps the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush implements http.Flusher, for the reverse proxy's streaming.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		w.wrote = true
		f.Flush()
	}
}

// MetricsHandler serves the registry in the Prometheus format, for a
// /metrics on a listener of its own (Options.NoMetrics).
func MetricsHandler(reg *prometheus.Registry) http.Handler { return promHandler(reg) }
