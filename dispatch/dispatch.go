// Package dispatch is a worker's per-request path between httpcore and the
// application: the scoreboard the supervisor reads, static files, trusted
// proxy headers, the access log and --max-requests, around wsgi.App.Serve.
package dispatch

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/accesslog"
	"github.com/gowsgi/gowsgi/httpcore"
	"github.com/gowsgi/gowsgi/prefork"
	"github.com/gowsgi/gowsgi/proxy"
	"github.com/gowsgi/gowsgi/static"
	"github.com/gowsgi/gowsgi/wsgi"
)

// Config is what a Handler serves with.
type Config struct {
	App    *wsgi.App
	Static *static.Handler   // --static mounts, served without the app
	Access *accesslog.Logger // nil without --access-logfile
	Trust  *proxy.Trust      // --forwarded-allow-ips
	// MaxRequests, if positive, is the number of requests after which the
	// worker asks the supervisor to replace it, once.
	MaxRequests int64
	RootPath    string // --root-path: SCRIPT_NAME
}

// Handler serves httpcore requests with a wsgi.App, reusing its buffers;
// httpcore, wsgi and accesslog share one header type, so a request's fields
// pass through without a copy.
type Handler struct {
	cfg        Config
	scriptName []byte
	entries    sync.Pool // *accesslog.Entry
	requests   sync.Pool // *wsgi.Request
	served     atomic.Int64
}

// New returns a Handler for cfg.
func New(cfg Config) *Handler {
	return &Handler{
		cfg:        cfg,
		scriptName: []byte(cfg.RootPath),
		entries:    sync.Pool{New: func() any { return new(accesslog.Entry) }},
		requests:   sync.Pool{New: func() any { return new(wsgi.Request) }},
	}
}

// ServeHTTP implements httpcore.Handler.
func (b *Handler) ServeHTTP(w *httpcore.ResponseWriter, r *httpcore.Request) {
	start := time.Now()
	prefork.BeginRequest(r.Method, r.URI)
	if b.cfg.Static.Match(r.Path) {
		b.cfg.Static.ServeHTTP(w, r)
	} else {
		b.serveApp(w, r)
	}
	prefork.EndRequest()
	took := time.Since(start)
	prefork.RecordResponse(w.Status(), took)
	if b.cfg.Access != nil {
		b.logAccess(w, r, start, took)
	}
}

// Served returns the number of requests the app has answered so far.
func (b *Handler) Served() int64 { return b.served.Load() }

// logAccess hands the request's access log entry to the access log, which
// copies what its format needs and writes it off the request path.
func (b *Handler) logAccess(w *httpcore.ResponseWriter, r *httpcore.Request, start time.Time, took time.Duration) {
	e := b.entries.Get().(*accesslog.Entry)
	*e = accesslog.Entry{
		Start: start, Duration: took,
		RemoteAddr: r.Conn.RemoteAddr, Method: r.Method, URI: r.URI, Path: r.Path, Query: r.Query, Proto: r.Proto,
		Status: w.Status(), Bytes: w.Written(), ReqHeaders: r.Headers,
	}
	b.cfg.Access.Log(e)
	*e = accesslog.Entry{}
	b.entries.Put(e)
}

// serveApp runs r through the application. The ResponseWriter is the
// app's response sink as it is: the two packages share the header type.
func (b *Handler) serveApp(w *httpcore.ResponseWriter, r *httpcore.Request) {
	q := b.requests.Get().(*wsgi.Request)
	q.Method, q.URI, q.Path, q.Query, q.Proto = r.Method, r.URI, r.Path, r.Query, r.Proto
	q.Scheme, q.ScriptName = "http", b.scriptName
	if r.Conn.TLS {
		q.Scheme = "https"
	}
	q.RemoteAddr, q.RemotePort = r.Conn.RemoteAddr, r.Conn.RemotePort
	// Only a trusted peer's X-Forwarded-For/-Proto count; from any other
	// they reach the app as plain headers and change nothing.
	if addr, scheme := proxy.Forwarded(b.cfg.Trust, r.Conn.RemoteIP, r.Headers); addr != nil || scheme != "" {
		if addr != nil {
			q.RemoteAddr = addr
		}
		if scheme != "" {
			q.Scheme = scheme
		}
	}
	q.Headers = r.Headers
	q.ContentLength = r.ContentLength
	q.Body = r.Body
	q.ServerName, q.ServerPort = r.Conn.ServerName, r.Conn.ServerPort

	b.cfg.App.Serve(q, w)
	if n := b.served.Add(1); n == b.cfg.MaxRequests {
		if err := prefork.Retire(); err != nil {
			b.cfg.App.ErrorLog().Printf("cannot ask the supervisor to replace this worker after %d requests: %v", n, err)
		}
	}

	*q = wsgi.Request{}
	b.requests.Put(q)
}
