// Package metrics exposes a gowsgi supervisor's metrics to Prometheus. The
// numbers come from prefork.Supervisor.Metrics, which adds up what every
// worker recorded in its scoreboard slot, so the parent process, which
// never runs Python, serves them for all its workers; a scrape reads them
// afresh and costs the workers nothing. The listen backlogs the parent reads
// from the listening sockets it holds.
//
// Every metric is named gowsgi_...:
//
//	gowsgi_requests_total{status_class="1xx"|...|"5xx"}  counter
//	gowsgi_request_duration_seconds                      histogram (Prometheus's default buckets, 5ms to 10s)
//	gowsgi_requests_in_flight                            gauge
//	gowsgi_workers                                       gauge: live worker processes
//	gowsgi_worker_restarts_total{cause="crash"|...}      counter (causes: see prefork.Snapshot.Restarts)
//	gowsgi_python_exceptions_total                       counter
//	gowsgi_request_wait_seconds                          histogram (the same buckets): time a request waited for a thread
//	gowsgi_requests_waiting                              gauge: requests waiting for a thread
//	gowsgi_listen_backlog{listener="127.0.0.1:8000"}     gauge: connections waiting to be accepted
//	gowsgi_listen_backlog_max{listener=...}              gauge: how many may wait
//
// The Go runtime and process metrics of the parent (go_*, process_*) are
// left out: they describe a small, idle supervisor, not the server.
package metrics
