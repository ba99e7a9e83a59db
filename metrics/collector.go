package metrics

import (
	"strconv"

	"github.com/gowsgi/gowsgi/prefork"
	"github.com/prometheus/client_golang/prometheus"
)

// The metrics' descriptions.
var (
	requestsDesc = prometheus.NewDesc("gowsgi_requests_total",
		"Responses sent by the workers, by status class.", []string{"status_class"}, nil)
	durationDesc = prometheus.NewDesc("gowsgi_request_duration_seconds",
		"Time from the start of a request to the end of its response.", nil, nil)
	inFlightDesc = prometheus.NewDesc("gowsgi_requests_in_flight",
		"Requests the workers are serving.", nil, nil)
	workersDesc = prometheus.NewDesc("gowsgi_workers",
		"Live worker processes, including those booting and those stopping.", nil, nil)
	restartsDesc = prometheus.NewDesc("gowsgi_worker_restarts_total",
		"Worker processes that ended while the server ran, by cause.", []string{"cause"}, nil)
	exceptionsDesc = prometheus.NewDesc("gowsgi_python_exceptions_total",
		"Exceptions from the application that failed a request (answered 500 or broke the response).", nil, nil)
	waitDesc = prometheus.NewDesc("gowsgi_request_wait_seconds",
		"Time a request waited for a thread of its worker (--threads) before the application was called.", nil, nil)
	waitingDesc = prometheus.NewDesc("gowsgi_requests_waiting",
		"Requests waiting for a thread of their worker (--threads).", nil, nil)
	backlogDesc = prometheus.NewDesc("gowsgi_listen_backlog",
		"Connections waiting to be accepted on each listener (the listen backlog's depth).", []string{"listener"}, nil)
	backlogMaxDesc = prometheus.NewDesc("gowsgi_listen_backlog_max",
		"How many connections may wait to be accepted on each listener (--backlog, capped by net.core.somaxconn).", []string{"listener"}, nil)
)

// descs lists every metric the collector may send.
var descs = []*prometheus.Desc{
	requestsDesc, durationDesc, inFlightDesc, workersDesc, restartsDesc, exceptionsDesc,
	waitDesc, waitingDesc, backlogDesc, backlogMaxDesc,
}

// collector is a prometheus.Collector that turns a prefork.Snapshot, taken
// at each scrape, into constant metrics.
type collector struct {
	src func() prefork.Snapshot
}

// Describe implements prometheus.Collector.
func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range descs {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src()
	for i, n := range s.Responses {
		ch <- prometheus.MustNewConstMetric(requestsDesc, prometheus.CounterValue, float64(n), strconv.Itoa(i+1)+"xx")
	}
	ch <- histogram(durationDesc, s.Duration)
	ch <- histogram(waitDesc, s.Wait)
	ch <- prometheus.MustNewConstMetric(inFlightDesc, prometheus.GaugeValue, float64(s.InFlight))
	ch <- prometheus.MustNewConstMetric(waitingDesc, prometheus.GaugeValue, float64(s.Waiting))
	ch <- prometheus.MustNewConstMetric(workersDesc, prometheus.GaugeValue, float64(s.Workers))
	for cause, n := range s.Restarts {
		ch <- prometheus.MustNewConstMetric(restartsDesc, prometheus.CounterValue, float64(n), cause)
	}
	ch <- prometheus.MustNewConstMetric(exceptionsDesc, prometheus.CounterValue, float64(s.Exceptions))
	for _, l := range s.Listeners {
		if l.Known {
			ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(l.Queued), l.Name)
			ch <- prometheus.MustNewConstMetric(backlogMaxDesc, prometheus.GaugeValue, float64(l.Limit), l.Name)
		}
	}
}

// histogram makes a Prometheus histogram of h.
func histogram(d *prometheus.Desc, h prefork.Histogram) prometheus.Metric {
	buckets := make(map[float64]uint64, len(h.Bounds))
	for i, bound := range h.Bounds {
		buckets[bound] = h.Counts[i]
	}
	return prometheus.MustNewConstHistogram(d, h.Count, h.Sum, buckets)
}
