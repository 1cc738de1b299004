package server

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/identityd/identityd/passwords"
	"github.com/identityd/identityd/store"
)

// httpMetrics counts requests by listener, method, route and status, and times them.
// Routes are the router's patterns, never raw paths, so the label set stays small.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "identityd_http_requests_total",
			Help: "HTTP requests answered, by listener, method, route and status.",
		}, []string{"listener", "method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "identityd_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by listener, method and route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"listener", "method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *httpMetrics) observe(listener, method, route string, status int, d time.Duration) {
	method = metricMethod(method)
	m.requests.WithLabelValues(listener, method, route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(listener, method, route).Observe(d.Seconds())
}

// metricMethod folds unknown methods into one label value, so that clients cannot grow
// the label set.
func metricMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "OTHER"
}

// newRegistry returns a registry with the Go runtime, process, database pool and
// password hashing collectors; request metrics are added by newHTTPMetrics.
func newRegistry(db *store.DB, h *passwords.Hasher) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&poolCollector{db: db},
		&hasherCollector{h: h},
	)
	return reg
}

func metricsHandler(reg *prometheus.Registry) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// poolCollector reports the database connection pool, on either backend.
type poolCollector struct{ db *store.DB }

var (
	poolMax   = prometheus.NewDesc("identityd_db_connections_max", "Most connections the pool may open.", []string{"backend"}, nil)
	poolOpen  = prometheus.NewDesc("identityd_db_connections_open", "Connections open now.", []string{"backend"}, nil)
	poolInUse = prometheus.NewDesc("identityd_db_connections_in_use", "Connections in use now.", []string{"backend"}, nil)
	poolIdle  = prometheus.NewDesc("identityd_db_connections_idle", "Idle connections now.", []string{"backend"}, nil)
	poolWaits = prometheus.NewDesc("identityd_db_connection_waits_total", "Times a caller waited for a connection.", []string{"backend"}, nil)
	poolWait  = prometheus.NewDesc("identityd_db_connection_wait_seconds_total", "Time callers spent waiting for a connection.", []string{"backend"}, nil)
)

// Describe sends the descriptors of the pool metrics.
func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolMax, poolOpen, poolInUse, poolIdle, poolWaits, poolWait} {
		ch <- d
	}
}

// Collect reads the pool's statistics.
func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.db.Stats()
	b := string(c.db.Dialect())
	ch <- prometheus.MustNewConstMetric(poolMax, prometheus.GaugeValue, float64(s.MaxConns), b)
	ch <- prometheus.MustNewConstMetric(poolOpen, prometheus.GaugeValue, float64(s.OpenConns), b)
	ch <- prometheus.MustNewConstMetric(poolInUse, prometheus.GaugeValue, float64(s.InUse), b)
	ch <- prometheus.MustNewConstMetric(poolIdle, prometheus.GaugeValue, float64(s.Idle), b)
	ch <- prometheus.MustNewConstMetric(poolWaits, prometheus.CounterValue, float64(s.WaitCount), b)
	ch <- prometheus.MustNewConstMetric(poolWait, prometheus.CounterValue, s.WaitDuration.Seconds(), b)
}

// hasherCollector reports password hashing: how much runs, and how much waits for room
// in the memory budget — a sign-in burst shows here before it shows in latency.
type hasherCollector struct{ h *passwords.Hasher }

var (
	hashDerivations = prometheus.NewDesc("identityd_password_derivations_total", "Password key derivations run (hashes, verifications, and the work spent on unknown users).", nil, nil)
	hashInFlight    = prometheus.NewDesc("identityd_password_hashes_in_flight", "Password derivations running now.", nil, nil)
	hashWaiting     = prometheus.NewDesc("identityd_password_hashes_waiting", "Password derivations waiting for room in the memory budget.", nil, nil)
	hashSlots       = prometheus.NewDesc("identityd_password_hash_slots", "Password hashes with the current parameters the memory budget lets run at once.", nil, nil)
)

// Describe sends the descriptors of the hashing metrics.
func (c *hasherCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{hashDerivations, hashInFlight, hashWaiting, hashSlots} {
		ch <- d
	}
}

// Collect reads the hasher's counters.
func (c *hasherCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.h.Stats()
	ch <- prometheus.MustNewConstMetric(hashDerivations, prometheus.CounterValue, float64(s.Derivations))
	ch <- prometheus.MustNewConstMetric(hashInFlight, prometheus.GaugeValue, float64(s.InFlight))
	ch <- prometheus.MustNewConstMetric(hashWaiting, prometheus.GaugeValue, float64(s.Waiting))
	ch <- prometheus.MustNewConstMetric(hashSlots, prometheus.GaugeValue, float64(c.h.Concurrency()))
}
