package metrics

import (
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/prefork"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// testSnapshot is a snapshot as a Supervisor could return it, with n
// responses of 2xx.
func testSnapshot(n uint64) prefork.Snapshot {
	return prefork.Snapshot{
		Responses: [5]uint64{1, n, 3, 4, 5},
		Duration: prefork.Histogram{
			Bounds: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
			Counts: []uint64{2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4},
			Count:  5,
			Sum:    12.5,
		},
		Wait: prefork.Histogram{
			Bounds: []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10},
			Counts: []uint64{6, 6, 6, 6, 6, 7, 7, 7, 7, 7, 7},
			Count:  7,
			Sum:    0.25,
		},
		InFlight:   7,
		Waiting:    3,
		Exceptions: 2,
		Workers:    4,
		Restarts:   map[string]uint64{"crash": 1, "reload": 0, "scale_down": 2},
		Listeners: []prefork.ListenerStats{
			{Name: "127.0.0.1:8000", Known: true, Queued: 5, Limit: 2048},
			{Name: "unix:/run/app.sock", Known: true, Queued: 0, Limit: 128},
			{Name: "fd://3"}, // unknown: no series
		},
	}
}

// serveTest serves src on a loopback socket and returns the base URL.
func serveTest(t *testing.T, src func() prefork.Snapshot) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := Serve(ln, src, nil)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// scrape fetches and parses url as Prometheus does.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	mediaType, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || err != nil || mediaType != "text/plain" || params["version"] != "0.0.4" {
		t.Fatalf("GET %s: %s, Content-Type %q", url, resp.Status, resp.Header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return families
}

// value returns the value of the counter or gauge in family name whose
// label (if label is not "") has value labelValue.
func value(t *testing.T, families map[string]*dto.MetricFamily, name, label, labelValue string) float64 {
	t.Helper()
	f, ok := families[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
	for _, m := range f.GetMetric() {
		if label != "" && !hasLabel(m, label, labelValue) {
			continue
		}
		if m.GetCounter() != nil {
			return m.GetCounter().GetValue()
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("no %s{%s=%q}", name, label, labelValue)
	return 0
}

func hasLabel(m *dto.Metric, name, value string) bool {
	for _, l := range m.GetLabel() {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}

func TestScrape(t *testing.T) {
	var n atomic.Uint64
	n.Store(2)
	url := serveTest(t, func() prefork.Snapshot { return testSnapshot(n.Load()) })
	families := scrape(t, url+"/metrics")

	types := map[string]dto.MetricType{
		"gowsgi_requests_total":           dto.MetricType_COUNTER,
		"gowsgi_request_duration_seconds": dto.MetricType_HISTOGRAM,
		"gowsgi_requests_in_flight":       dto.MetricType_GAUGE,
		"gowsgi_workers":                  dto.MetricType_GAUGE,
		"gowsgi_worker_restarts_total":    dto.MetricType_COUNTER,
		"gowsgi_python_exceptions_total":  dto.MetricType_COUNTER,
		"gowsgi_request_wait_seconds":     dto.MetricType_HISTOGRAM,
		"gowsgi_requests_waiting":         dto.MetricType_GAUGE,
		"gowsgi_listen_backlog":           dto.MetricType_GAUGE,
		"gowsgi_listen_backlog_max":       dto.MetricType_GAUGE,
	}
	for name, typ := range types {
		if f, ok := families[name]; !ok || f.GetType() != typ {
			t.Errorf("%s: %v, want a %v", name, f, typ)
		}
	}
	if len(families) != len(types) {
		t.Errorf("%d metric families, want only the %d of gowsgi", len(families), len(types))
	}

	values := []struct {
		name, label, labelValue string
		want                    float64
	}{
		{"gowsgi_requests_total", "status_class", "1xx", 1},
		{"gowsgi_requests_total", "status_class", "2xx", 2},
		{"gowsgi_requests_total", "status_class", "3xx", 3},
		{"gowsgi_requests_total", "status_class", "4xx", 4},
		{"gowsgi_requests_total", "status_class", "5xx", 5},
		{"gowsgi_requests_in_flight", "", "", 7},
		{"gowsgi_workers", "", "", 4},
		{"gowsgi_worker_restarts_total", "cause", "crash", 1},
		{"gowsgi_worker_restarts_total", "cause", "reload", 0},
		{"gowsgi_worker_restarts_total", "cause", "scale_down", 2},
		{"gowsgi_python_exceptions_total", "", "", 2},
		{"gowsgi_requests_waiting", "", "", 3},
		{"gowsgi_listen_backlog", "listener", "127.0.0.1:8000", 5},
		{"gowsgi_listen_backlog", "listener", "unix:/run/app.sock", 0},
		{"gowsgi_listen_backlog_max", "listener", "127.0.0.1:8000", 2048},
		{"gowsgi_listen_backlog_max", "listener", "unix:/run/app.sock", 128},
	}
	for _, v := range values {
		if got := value(t, families, v.name, v.label, v.labelValue); got != v.want {
			t.Errorf("%s{%s=%q} = %v, want %v", v.name, v.label, v.labelValue, got, v.want)
		}
	}

	if n := len(families["gowsgi_listen_backlog"].GetMetric()); n != 2 {
		t.Errorf("%d gowsgi_listen_backlog series, want 2 (none for a listener of unknown backlog)", n)
	}
	if w := families["gowsgi_request_wait_seconds"].GetMetric()[0].GetHistogram(); w.GetSampleCount() != 7 || w.GetSampleSum() != 0.25 ||
		w.GetBucket()[4].GetCumulativeCount() != 6 || w.GetBucket()[5].GetCumulativeCount() != 7 {
		t.Errorf("wait histogram %v", w)
	}
	h := families["gowsgi_request_duration_seconds"].GetMetric()[0].GetHistogram()
	if h.GetSampleCount() != 5 || h.GetSampleSum() != 12.5 {
		t.Errorf("histogram count %d, sum %v; want 5, 12.5", h.GetSampleCount(), h.GetSampleSum())
	}
	want := testSnapshot(0).Duration
	want.Bounds, want.Counts = append(want.Bounds, math.Inf(1)), append(want.Counts, want.Count)
	if len(h.GetBucket()) != len(want.Bounds) {
		t.Fatalf("%d buckets, want %d (with +Inf)", len(h.GetBucket()), len(want.Bounds))
	}
	for i, b := range h.GetBucket() {
		if b.GetUpperBound() != want.Bounds[i] || b.GetCumulativeCount() != want.Counts[i] {
			t.Errorf("bucket %d: le=%v %d, want le=%v %d", i, b.GetUpperBound(), b.GetCumulativeCount(), want.Bounds[i], want.Counts[i])
		}
	}

	// Every scrape reads the snapshot afresh.
	n.Store(9)
	if got := value(t, scrape(t, url+"/metrics"), "gowsgi_requests_total", "status_class", "2xx"); got != 9 {
		t.Errorf("second scrape: 2xx = %v, want 9", got)
	}
}

func TestServeOtherPaths(t *testing.T) {
	url := serveTest(t, func() prefork.Snapshot { return testSnapshot(0) })
	c := &http.Client{Timeout: 5 * time.Second}
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodGet, "/", http.StatusNotFound},
		{http.MethodGet, "/metricsx", http.StatusNotFound},
		{http.MethodPost, "/metrics", http.StatusMethodNotAllowed},
		{http.MethodHead, "/metrics", http.StatusOK},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, url+tt.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %s, want %d", tt.method, tt.path, resp.Status, tt.want)
		}
	}
}
