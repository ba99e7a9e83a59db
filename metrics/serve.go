package metrics

import (
	"log"
	"net"
	"net/http"
	"time"

	"github.com/gowsgi/gowsgi/prefork"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Handler returns an http.Handler that answers with the metrics of the
// snapshot src returns, calling src once per request, in Prometheus's text
// format (or another that the scraper asks for). src is typically a
// prefork.Supervisor's Metrics method; it must be safe to call from any
// goroutine.
func Handler(src func() prefork.Snapshot) http.Handler {
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(collector{src})
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
}

// headerTimeout bounds how long a scraper may take to send its request's
// headers, so idle connections cannot pile up in the supervisor.
const headerTimeout = 10 * time.Second

// Serve serves Handler(src) at /metrics on ln (other paths answer 404) in a
// new goroutine, and returns the server: Close or Shutdown it to stop, which
// also closes ln. Errors accepting connections go to errorLog (nil: the log
// package's standard logger).
//
// Bind ln in the supervisor with net.Listen("tcp", addr): Go opens sockets
// close-on-exec, so workers do not inherit it.
func Serve(ln net.Listener, src func() prefork.Snapshot, errorLog *log.Logger) *http.Server {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", Handler(src))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: headerTimeout, IdleTimeout: time.Minute, ErrorLog: errorLog}
	go srv.Serve(ln)
	return srv
}
