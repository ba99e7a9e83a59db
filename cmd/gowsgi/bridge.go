package main

import (
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gowsgi/gowsgi/prefork"
	"github.com/gowsgi/gowsgi/proxy"
	"github.com/gowsgi/gowsgi/static"

	"github.com/gowsgi/gowsgi/accesslog"
	"github.com/gowsgi/gowsgi/httpcore"
	"github.com/gowsgi/gowsgi/wsgi"
)

// bridge serves httpcore requests with a wsgi.App. It translates between
// the two packages' request and header types, reusing its buffers, so
// neither package needs to know the other.
type bridge struct {
	app       *wsgi.App
	static    *static.Handler   // --static mounts, served without the app
	access    *accesslog.Logger // nil without --access-logfile
	trust     *proxy.Trust      // --forwarded-allow-ips
	entries   sync.Pool         // *accessEntry
	exchanges sync.Pool

	scriptName []byte // --root-path

	// After maxRequests requests (0: never) the worker asks the supervisor
	// to replace it, once.
	maxRequests int64
	served      atomic.Int64
}

func newBridge(app *wsgi.App, files *static.Handler, access *accesslog.Logger, trust *proxy.Trust,
	maxRequests int64, rootPath string) *bridge {
	return &bridge{
		app:         app,
		static:      files,
		access:      access,
		trust:       trust,
		entries:     sync.Pool{New: func() any { return new(accessEntry) }},
		scriptName:  []byte(rootPath),
		exchanges:   sync.Pool{New: func() any { return new(exchange) }},
		maxRequests: maxRequests,
	}
}

// exchange is one request in flight: the wsgi view of it and the sink that
// writes its response.
type exchange struct {
	req  wsgi.Request
	sink sink
}

// ServeHTTP implements httpcore.Handler.
func (b *bridge) ServeHTTP(w *httpcore.ResponseWriter, r *httpcore.Request) {
	start := time.Now()
	prefork.BeginRequest(r.Method, r.URI)
	if b.static.Match(r.Path) {
		b.static.ServeHTTP(w, r)
	} else {
		b.serveApp(w, r)
	}
	prefork.EndRequest()
	took := time.Since(start)
	prefork.RecordResponse(w.Status(), took)
	if b.access != nil {
		b.logAccess(w, r, start, took)
	}
}

// accessEntry is a reusable access log entry with room for the headers.
type accessEntry struct {
	accesslog.Entry
	headers []accesslog.Header
}

// logAccess hands the request's access log entry to the access log, which
// copies what its format needs and writes it off the request path.
func (b *bridge) logAccess(w *httpcore.ResponseWriter, r *httpcore.Request, start time.Time, took time.Duration) {
	e := b.entries.Get().(*accessEntry)
	e.headers = e.headers[:0]
	for _, h := range r.Headers {
		e.headers = append(e.headers, accesslog.Header{Name: h.Name, Value: h.Value})
	}
	e.Entry = accesslog.Entry{
		Start: start, Duration: took,
		RemoteAddr: r.Conn.RemoteAddr, Method: r.Method, URI: r.URI, Path: r.Path, Query: r.Query, Proto: r.Proto,
		Status: w.Status(), Bytes: w.Written(), ReqHeaders: e.headers,
	}
	b.access.Log(&e.Entry)
	e.Entry = accesslog.Entry{}
	b.entries.Put(e)
}

// serveApp runs r through the application.
func (b *bridge) serveApp(w *httpcore.ResponseWriter, r *httpcore.Request) {
	x := b.exchanges.Get().(*exchange)
	q := &x.req
	q.Method, q.URI, q.Path, q.Query, q.Proto = r.Method, r.URI, r.Path, r.Query, r.Proto
	q.Scheme, q.ScriptName = "http", b.scriptName
	if r.Conn.TLS {
		q.Scheme = "https"
	}
	q.RemoteAddr, q.RemotePort = r.Conn.RemoteAddr, r.Conn.RemotePort
	// Only a trusted peer's X-Forwarded-For/-Proto count; from any other
	// they reach the app as plain headers and change nothing.
	if addr, scheme := proxy.Forwarded(b.trust, r.Conn.RemoteIP, r.Headers); addr != nil || scheme != "" {
		if addr != nil {
			q.RemoteAddr = addr
		}
		if scheme != "" {
			q.Scheme = scheme
		}
	}
	q.Headers = q.Headers[:0]
	for _, h := range r.Headers {
		q.Headers = append(q.Headers, wsgi.Header{Name: h.Name, Value: h.Value})
	}
	q.ContentLength = r.ContentLength
	q.Body = r.Body
	q.ServerName, q.ServerPort = r.Conn.ServerName, r.Conn.ServerPort
	x.sink.w = w

	b.app.Serve(q, &x.sink)
	if n := b.served.Add(1); n == b.maxRequests {
		if err := prefork.Retire(); err != nil {
			b.app.ErrorLog().Printf("cannot ask the supervisor to replace this worker after %d requests: %v", n, err)
		}
	}

	*q = wsgi.Request{Headers: q.Headers[:0]}
	x.sink.w = nil
	b.exchanges.Put(x)
}

// sink adapts an httpcore.ResponseWriter to wsgi.ResponseSink.
type sink struct {
	w       *httpcore.ResponseWriter
	headers []httpcore.Header
}

func (s *sink) WriteHeader(status []byte, headers []wsgi.Header) {
	s.headers = s.headers[:0]
	for _, h := range headers {
		s.headers = append(s.headers, httpcore.Header{Name: h.Name, Value: h.Value})
	}
	s.w.WriteHeader(status, s.headers)
}

func (s *sink) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s *sink) Flush() error                { return s.w.Flush() }
func (s *sink) HeadSent() bool              { return s.w.HeadSent() }
func (s *sink) Abort()                      { s.w.Abort() }

func (s *sink) SendFile(f *os.File, offset, n int64) error { return s.w.SendFile(f, offset, n) }
