package main

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	bitcask "github.com/libbitcask/libbitcask/bindings/go"
)

// metrics are bitcaskd's Prometheus series (prefix bitcaskd_).
type metrics struct {
	reg              *prometheus.Registry
	connections      prometheus.Gauge
	connectionsTotal prometheus.Counter
	rejected         prometheus.Counter
	protocolErrors   prometheus.Counter
	authFailures     prometheus.Counter
	storeErrors      prometheus.Counter
	unknown          prometheus.Counter
	casRetries       prometheus.Counter
}

func newMetrics() *metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	f := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "bitcaskd", Name: name, Help: help})
		reg.MustRegister(c)
		return c
	}
	m := &metrics{
		reg:              reg,
		connections:      prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "bitcaskd", Name: "connected_clients", Help: "Open client connections."}),
		connectionsTotal: f("connections_total", "Client connections accepted."),
		rejected:         f("rejected_connections_total", "Connections refused (max clients reached, or shutting down)."),
		protocolErrors:   f("protocol_errors_total", "Clients disconnected for a malformed or oversized request."),
		authFailures:     f("auth_failures_total", "AUTH or HELLO AUTH attempts with a wrong password."),
		storeErrors:      f("store_errors_total", "Commands that failed in the storage library (I/O, corruption...)."),
		unknown:          f("unknown_commands_total", "Requests naming a command bitcaskd does not have."),
		casRetries:       f("cas_retries_total", "Conditional batches retried because a key changed between read and write."),
	}
	reg.MustRegister(m.connections)
	calls := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "bitcaskd", Name: "commands_total", Help: "Commands executed, by command."}, []string{"cmd"})
	errs := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "bitcaskd", Name: "command_errors_total", Help: "Commands answered with an error, by command."}, []string{"cmd"})
	lat := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Namespace: "bitcaskd", Name: "command_duration_seconds", Help: "Time to execute a command (excluding network), by command.",
		Buckets: []float64{1e-6, 2.5e-6, 5e-6, 1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3, 0.01, 0.05, 0.1, 0.5, 1},
	}, []string{"cmd"})
	reg.MustRegister(calls, errs, lat)
	for _, c := range commandList {
		c.stats = cmdStats{calls: calls.WithLabelValues(c.name), errors: errs.WithLabelValues(c.name), latency: lat.WithLabelValues(c.name)}
	}
	return m
}

// watchStore exports the store's own counters, read at scrape time.
func (m *metrics) watchStore(db func() *bitcask.DB) {
	gauge := func(name, help string, f func(bitcask.Stats) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "bitcaskd", Name: name, Help: help}, func() float64 {
			st, err := db().Stats()
			if err != nil {
				return 0
			}
			return f(st)
		}))
	}
	gauge("keys", "Live keys in the store.", func(s bitcask.Stats) float64 { return float64(s.LiveKeys) })
	gauge("keydir_bytes", "RAM held by the store's index.", func(s bitcask.Stats) float64 { return float64(s.KeydirBytes) })
	gauge("data_bytes", "Bytes of records in all data files.", func(s bitcask.Stats) float64 { return float64(s.TotalBytes) })
	gauge("dead_bytes", "Bytes of records no live key needs (reclaimed by a merge).", func(s bitcask.Stats) float64 { return float64(s.DeadBytes) })
	gauge("data_files", "Data files in the store.", func(s bitcask.Stats) float64 { return float64(s.DataFiles) })
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: "bitcaskd", Name: "merges_total", Help: "Merges completed since the store was opened."}, func() float64 {
		st, err := db().Stats()
		if err != nil {
			return 0
		}
		return float64(st.MergesCompleted)
	}))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}
