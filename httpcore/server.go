package httpcore

import (
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of the Server settings; the request limits
// are gunicorn's.
const (
	defaultKeepAlive             = 5 * time.Second
	defaultHeaderTimeout         = 10 * time.Second
	defaultMaxHeaderBytes        = 64 << 10
	defaultLimitRequestLine      = 4094
	defaultLimitRequestFields    = 100
	defaultLimitRequestFieldSize = 8190
)

// Handler serves one request. It must call w.WriteHeader exactly once before
// writing a body; a handler that returns without doing so (or panics before
// its head is sent) gets a 500 sent for it. The request's slices and body
// are valid only until ServeHTTP returns.
type Handler interface {
	ServeHTTP(w *ResponseWriter, r *Request)
}

// HandlerFunc adapts a function to the Handler interface.
type HandlerFunc func(w *ResponseWriter, r *Request)

// ServeHTTP calls f(w, r).
func (f HandlerFunc) ServeHTTP(w *ResponseWriter, r *Request) { f(w, r) }

// Server is an HTTP/1.1 server. Set the exported fields before the first
// call to Serve and do not change them afterwards; a Server must not be
// copied after first use.
//
// The request limits are named after gunicorn's settings and default to
// its values. Go's zero value must mean "default", so where gunicorn's 0
// means "no limit" a negative value does here. Every limit is also bounded
// by MaxHeaderBytes, the size of the whole head.
type Server struct {
	Handler      Handler
	ServerHeader string // value of the Server field; empty: none

	// KeepAlive is the idle time allowed between requests on a connection
	// (default 5s).
	KeepAlive time.Duration
	// HeaderTimeout is the time allowed to receive a complete request head
	// once it started (and the first one on a new connection), and between
	// body reads (default 10s). Both timeouts close the connection without
	// a response and without logging.
	HeaderTimeout time.Duration
	// SendTimeout is the time a client may take no response bytes (default
	// 60s, nginx's send_timeout; negative: no limit). It bounds each
	// write of at most 256 KiB, not the whole response, so a large body
	// to a slow but reading client goes through (as with nginx, the
	// kernel lets a write blocked on a full socket buffer go on once a
	// good part of the buffer drained). A client that stalls
	// longer is treated as gone: the handler's Write fails (held bodies
	// are released), the response is abandoned and the connection closed,
	// without a log line.
	SendTimeout time.Duration
	// StreamBuffer bounds the bytes of a streamed response (Write and
	// Flush once the head is committed) kept for a client that has not
	// taken them yet (default 256 KiB; negative: none, and a Flush waits
	// for the client as it did before). A Flush hands the socket what it
	// takes at once and leaves the rest to a goroutine of the connection
	// that sends it meanwhile, in order and under SendTimeout, so the
	// handler goes on producing while the client receives; it waits for
	// the client only while StreamBuffer bytes or more are unsent, and no
	// longer than SendTimeout for a client that stalls (the Write then
	// fails). The buffer is pooled memory held only while it has unsent
	// bytes: at most StreamBuffer plus one chunk, itself cut at
	// StreamBuffer. When the handler returns, the connection sends the
	// rest before anything else. See ResponseWriter.Congested and WaitRoom.
	StreamBuffer int64

	// MaxHeaderBytes bounds the whole request head: request line and header
	// fields (default 64 KiB). Over it: 414 while still in the request
	// line, 431 after.
	MaxHeaderBytes int
	// LimitRequestLine bounds the request line, without its CRLF (default
	// 4094; negative: only MaxHeaderBytes). Over it: 414.
	LimitRequestLine int
	// LimitRequestFields bounds the number of header fields (default 100;
	// negative: no limit). Over it: 431.
	LimitRequestFields int
	// LimitRequestFieldSize bounds one header field line, name, colon and
	// value, without its CRLF (default 8190; negative: only
	// MaxHeaderBytes). Over it: 431.
	LimitRequestFieldSize int
	// LimitRequestBody bounds a request body (0 or negative: no limit). A
	// Content-Length over it is answered 413 without calling the handler;
	// a chunked body growing past it makes Body.Read fail with
	// ErrBodyTooLarge (errors.Is), and the server answers 413 if the
	// handler's response head has not been sent.
	LimitRequestBody int64

	// TLSConfig, if set, makes every connection TLS: the handshake is done
	// before the first request, within HeaderTimeout, and ConnInfo.TLS is
	// true. A failed handshake closes the connection without a log line:
	// scanners and clients with the wrong certificate are routine. The
	// config is used as given; LoadTLSConfig builds gunicorn's.
	TLSConfig *tls.Config

	// BodyBuffer bounds the request bodies read whole before the handler
	// is called (default 1 MiB; negative: none), into a pooled buffer
	// given back after the response: a slow upload then holds the
	// connection's goroutine, not the handler, and a body that fails (a
	// malformed or over-LimitRequestBody chunked body, a client that
	// stops) is answered 400 or 413, or not at all, without calling the
	// handler. An "Expect: 100-continue" is answered before the body is
	// read. A larger body (by Content-Length, or a chunked one found
	// larger) streams to the handler after the prefix read; each read of
	// a streamed body waits at most HeaderTimeout, and once 5 s have
	// passed since the body began, the body must have come at 1 KiB/s on
	// average or the read fails as the client's (see IsBodyError).
	BodyBuffer int64

	// ProxyProtocol makes the server read a PROXY protocol header (v1 text
	// or v2 binary) at the start of each connection from a peer ProxyTrust
	// trusts, before any TLS handshake, within HeaderTimeout. The addresses
	// it carries replace the connection's in ConnInfo (source: RemoteAddr
	// and RemotePort; destination: ServerName and ServerPort); v1 UNKNOWN,
	// v2 LOCAL and v2 headers of other address families keep the real
	// ones. A trusted peer must send a valid header: without one the
	// connection is closed and logged, because a proxy that does not send
	// it would let its clients send one of their own. An untrusted peer is
	// served plain HTTP with its own address, and its connection closed,
	// unlogged, if it starts with a PROXY header.
	ProxyProtocol bool
	// ProxyTrust reports whether a peer (the zero Addr for a unix socket)
	// may send a PROXY header; nil trusts every peer.
	ProxyTrust func(netip.Addr) bool

	// MaxConnections bounds the connections Serve keeps open at once, over
	// all its listeners (0 or negative: no limit). At the bound Serve stops
	// accepting, so new connections wait in the kernel's listen backlog (a
	// sibling worker sharing the listener takes them meanwhile) rather than
	// each costing a goroutine and a read buffer here. Connections given to
	// ServeConn are not counted.
	MaxConnections int

	ErrorLog *log.Logger // nil: log.Default()

	initOnce   sync.Once
	connSlots  chan struct{} // one token per open accepted connection, when MaxConnections > 0
	quit       chan struct{} // closed by Shutdown and Close
	quitOnce   sync.Once
	serverLine []byte    // "Server: ...\r\n", or nil
	largeBufs  sync.Pool // read buffers of MaxHeaderBytes + tailRoom

	shutting    atomic.Bool
	drained     chan struct{} // closed once shutting and no connection remains
	drainedOnce sync.Once
	mu          sync.Mutex
	closed      bool // Close was called; guarded by mu
	listeners   map[net.Listener]struct{}
	conns       map[*conn]struct{}
}

// init derives what the settings imply, once.
func (s *Server) init() {
	s.initOnce.Do(func() {
		if s.ServerHeader != "" {
			s.serverLine = []byte("Server: " + s.ServerHeader + "\r\n")
		}
		size := s.maxHeaderBytes() + 2 + tailRoom
		s.largeBufs.New = func() any { b := make([]byte, size); return &b }
		if s.MaxConnections > 0 {
			s.connSlots = make(chan struct{}, s.MaxConnections)
		}
		s.quit = make(chan struct{})
		s.drained = make(chan struct{})
	})
}

// keepAlive returns the idle time allowed between requests.
func (s *Server) keepAlive() time.Duration {
	if s.KeepAlive > 0 {
		return s.KeepAlive
	}
	return defaultKeepAlive
}

// headerTimeout returns the time allowed to receive a request head.
func (s *Server) headerTimeout() time.Duration {
	if s.HeaderTimeout > 0 {
		return s.HeaderTimeout
	}
	return defaultHeaderTimeout
}

// maxHeaderBytes returns the size limit of a request head.
func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return defaultMaxHeaderBytes
}

// limitRequestLine returns the request line limit, or 0 for none beyond
// the head size.
func (s *Server) limitRequestLine() int {
	return limitOrDefault(s.LimitRequestLine, defaultLimitRequestLine)
}

// limitRequestFields returns the field count limit, or 0 for none.
func (s *Server) limitRequestFields() int {
	return limitOrDefault(s.LimitRequestFields, defaultLimitRequestFields)
}

// limitRequestFieldSize returns the field line limit, or 0 for none beyond
// the head size.
func (s *Server) limitRequestFieldSize() int {
	return limitOrDefault(s.LimitRequestFieldSize, defaultLimitRequestFieldSize)
}

// limitOrDefault maps a limit setting to its effective value: 0 is the
// default and a negative value is 0, no limit.
func limitOrDefault[T int | int64 | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// getLargeBuf returns a read buffer big enough for the largest head.
func (s *Server) getLargeBuf() *[]byte { return s.largeBufs.Get().(*[]byte) }

// logf logs through ErrorLog.
func (s *Server) logf(format string, args ...any) {
	l := s.ErrorLog
	if l == nil {
		l = log.Default()
	}
	l.Printf(format, args...)
}

// Serve accepts connections on l and serves each on its own goroutine. It
// blocks until l fails or the server shuts down, and returns nil after
// Shutdown or Close. Serve may run for several listeners at once.
func (s *Server) Serve(l net.Listener) error {
	s.init()
	if !s.trackListener(l) {
		l.Close()
		return nil
	}
	defer s.untrackListener(l)
	var backoff time.Duration
	for {
		if !s.acquireSlot() {
			return nil
		}
		nc, err := l.Accept()
		if err != nil {
			s.releaseSlot()
			if s.shutting.Load() {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of file descriptors and the like: wait, then retry.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.logf("httpcore: accept: %v; retrying in %v", err, backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0
		// Accepted before the listener closed, even if Shutdown has
		// begun: its client is sending, so it is served, not dropped.
		if c := s.track(nc, true); c != nil {
			c.slot = s.connSlots != nil
			c.handOff = true
			go c.serve()
		} else {
			s.releaseSlot()
		}
	}
}

// acquireSlot waits until fewer than MaxConnections accepted connections
// are open and takes a place for the next one; it reports false if the
// server shuts down meanwhile.
func (s *Server) acquireSlot() bool {
	if s.connSlots == nil {
		return true
	}
	select {
	case s.connSlots <- struct{}{}:
		return true
	case <-s.quit:
		return false
	}
}

// releaseSlot gives back a place taken by acquireSlot.
func (s *Server) releaseSlot() {
	if s.connSlots != nil {
		<-s.connSlots
	}
}

// stopAccepting marks the server as shutting down and wakes Serve loops
// waiting for a connection slot.
func (s *Server) stopAccepting() {
	s.shutting.Store(true)
	s.quitOnce.Do(func() { close(s.quit) })
	s.closeListeners()
}

// ServeConn serves requests on nc until it closes, blocking; it closes nc.
// Shutdown and Close, TLSConfig and ProxyProtocol apply to it as to
// accepted connections.
func (s *Server) ServeConn(nc net.Conn) {
	s.init()
	if c := s.track(nc, false); c != nil {
		c.serve()
	}
}

// Shutdown stops accepting and returns once every connection has closed,
// or with ctx's error when ctx ends first (then call Close). Meanwhile a
// connection closes only when no request can be in flight on it: every
// response from now on carries "Connection: close"; a connection idle
// between requests is left to its keep-alive time, as its client may have
// sent the next request already (which is answered, with close); a new
// connection gets newConnGrace for its first request.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.stopAccepting()
	s.hurryNew()
	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close closes the listeners and every connection now.
func (s *Server) Close() error {
	s.init()
	s.stopAccepting()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.state.Store(stateClosed)
		c.raw.Close()
	}
	return nil
}

// trackListener records l for Shutdown; it reports false if the server is
// already shutting down.
func (s *Server) trackListener(l net.Listener) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutting.Load() {
		return false
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
	}
	s.listeners[l] = struct{}{}
	return true
}

// untrackListener forgets l, whose Serve loop has ended.
func (s *Server) untrackListener(l net.Listener) {
	s.mu.Lock()
	delete(s.listeners, l)
	s.noteDrained()
	s.mu.Unlock()
}

// closeListeners closes every listener Serve is running on.
func (s *Server) closeListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for l := range s.listeners {
		l.Close()
	}
}

// track wraps nc in a conn and records it. After Close, and once the
// server is shutting down for a connection given to ServeConn (not
// accepted), nc is closed instead and track returns nil.
func (s *Server) track(nc net.Conn, accepted bool) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || (!accepted && s.shutting.Load()) {
		nc.Close()
		return nil
	}
	if s.conns == nil {
		s.conns = make(map[*conn]struct{})
	}
	c := newConn(s, nc)
	s.conns[c] = struct{}{}
	return c
}

// untrack forgets c.
func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.noteDrained()
	s.mu.Unlock()
}

// hurryNew shortens to newConnGrace the wait of connections for their
// first request, and notes if no connection remains.
func (s *Server) hurryNew() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		if c.state.CompareAndSwap(stateNew, stateNewShutting) {
			c.shortenWait()
		}
	}
	s.noteDrained()
}

// noteDrained closes drained once the server shuts down, every Serve loop
// has ended (no connection can be accepted any more) and the last
// connection is gone; s.mu is held.
func (s *Server) noteDrained() {
	if s.shutting.Load() && len(s.listeners) == 0 && len(s.conns) == 0 {
		s.drainedOnce.Do(func() { close(s.drained) })
	}
}
