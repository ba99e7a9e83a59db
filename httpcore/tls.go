package httpcore

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
)

// LoadTLSConfig builds the server TLS configuration of gunicorn's
// --certfile, --keyfile and --ca-certs: the PEM certificate chain and its
// key and, if caFile is not empty, the PEM CA certificates that every
// client must present a certificate signed by. It requires TLS 1.2 or
// later and offers HTTP/1.1 by ALPN. Its errors name the file at fault.
func LoadTLSConfig(certFile, keyFile, caFile string) (*tls.Config, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("httpcore: reading certificate file: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("httpcore: reading key file: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("httpcore: certificate file %s with key file %s: %w", certFile, keyFile, err)
	}
	cfg := &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   tls.VersionTLS12,
		NextProtos:   []string{"http/1.1"},
	}
	if caFile != "" {
		caPEM, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("httpcore: reading CA certificates file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, fmt.Errorf("httpcore: no PEM certificate in CA certificates file %s", caFile)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// handshake makes the connection TLS, handing the TLS layer the bytes
// already read after a PROXY header.
func (c *conn) handshake() error {
	nc := c.raw
	if c.w > 0 {
		nc = &replayConn{Conn: c.raw, pending: bytes.Clone(c.buf[:c.w])}
		c.w = 0
	}
	tc := tls.Server(nc, c.srv.TLSConfig)
	c.nc = tc
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.info.TLS = true
	return nil
}

// replayConn is a connection whose reads first return bytes already read
// from it.
type replayConn struct {
	net.Conn
	pending []byte
}

// Read returns the pending bytes first.
func (r *replayConn) Read(p []byte) (int, error) {
	if len(r.pending) > 0 {
		n := copy(p, r.pending)
		r.pending = r.pending[n:]
		return n, nil
	}
	return r.Conn.Read(p)
}
