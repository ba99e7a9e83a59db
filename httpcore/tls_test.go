package httpcore

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/syncbuf"
)

// testPKI is a CA, a server certificate for the loopback addresses and a
// client certificate, all signed by the CA, with their PEM files.
type testPKI struct {
	dir                       string // ca.pem, cert.pem, key.pem
	roots                     *x509.CertPool
	client, strangerClient    tls.Certificate // signed by the CA, and self-signed
	certFile, keyFile, caFile string
}

// newTestPKI generates a testPKI in a temporary directory.
func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	p := &testPKI{dir: t.TempDir(), roots: x509.NewCertPool()}
	p.certFile, p.keyFile, p.caFile = filepath.Join(p.dir, "cert.pem"), filepath.Join(p.dir, "key.pem"), filepath.Join(p.dir, "ca.pem")
	caKey, caDER := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "gowsgi test CA"}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	ca, _ := x509.ParseCertificate(caDER)
	p.roots.AddCert(ca)
	writePEM(t, p.caFile, "CERTIFICATE", caDER)

	key, der := issue(t, &x509.Certificate{
		Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}, ca, caKey)
	writePEM(t, p.certFile, "CERTIFICATE", der)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, p.keyFile, "PRIVATE KEY", keyDER)

	client := &x509.Certificate{
		Subject: pkix.Name{CommonName: "client"}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	key, der = issue(t, client, ca, caKey)
	p.client = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	key, der = issue(t, client, nil, nil)
	p.strangerClient = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return p
}

// issue creates a key and a certificate from template, signed by parent
// (self-signed if nil), valid for an hour.
func issue(t testing.TB, template, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*ecdsa.PrivateKey, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	template.SerialNumber = serial
	template.NotBefore, template.NotAfter = time.Now().Add(-time.Minute), time.Now().Add(time.Hour)
	if parent == nil {
		parent, parentKey = template, key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	return key, der
}

// writePEM writes one PEM block to path.
func writePEM(t testing.TB, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// serverConfig loads the server's configuration through LoadTLSConfig,
// requiring client certificates if asked.
func (p *testPKI) serverConfig(t testing.TB, clientCerts bool) *tls.Config {
	t.Helper()
	ca := ""
	if clientCerts {
		ca = p.caFile
	}
	cfg, err := LoadTLSConfig(p.certFile, p.keyFile, ca)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// clientConfig trusts the test CA and presents the client certificate if
// asked.
func (p *testPKI) clientConfig(withCert bool) *tls.Config {
	cfg := &tls.Config{RootCAs: p.roots, ServerName: "127.0.0.1"}
	if withCert {
		cfg.Certificates = []tls.Certificate{p.client}
	}
	return cfg
}

// tlsExchange sends raw over a TLS connection configured by cfg and returns
// what the server sends until it closes, and the first error.
func tlsExchange(t testing.TB, addr string, cfg *tls.Config, raw string) (string, error) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(ioTimeout))
	tc := tls.Client(nc, cfg)
	if err := tc.Handshake(); err != nil {
		return "", err
	}
	if _, err := io.WriteString(tc, raw); err != nil {
		return "", err
	}
	got, err := io.ReadAll(tc)
	return string(got), err
}

func TestTLS(t *testing.T) {
	pki := newTestPKI(t)
	logged := &syncbuf.Buffer{}
	_, addr := startServer(t, connInfoHandler, func(s *Server) {
		s.TLSConfig = pki.serverConfig(t, false)
		s.ErrorLog = log.New(logged, "", 0)
	})
	got, err := tlsExchange(t, addr, pki.clientConfig(false),
		"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	for i, resp := range readResponses(t, got, "GET", "GET") {
		if b := bodyOf(resp); !strings.HasPrefix(b, "127.0.0.1 ") || !strings.HasSuffix(b, " 127.0.0.1 true") {
			t.Errorf("response %d: ConnInfo %q, want TLS", i, b)
		}
	}

	cfg := pki.clientConfig(false)
	cfg.NextProtos = []string{"h2", "http/1.1"}
	tc, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if p := tc.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("ALPN chose %q", p)
	}
	tc.Close()
	if logged.String() != "" {
		t.Errorf("logged: %s", logged)
	}
}

func TestTLSRefused(t *testing.T) {
	pki := newTestPKI(t)
	logged := &syncbuf.Buffer{}
	_, addr := startServer(t, connInfoHandler, func(s *Server) {
		s.TLSConfig = pki.serverConfig(t, true)
		s.HeaderTimeout = 300 * time.Millisecond
		s.ErrorLog = log.New(logged, "", 0)
	})
	withCert := pki.clientConfig(true)
	stranger := pki.clientConfig(false)
	// Presented even though the server asks for the test CA's.
	stranger.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		return &pki.strangerClient, nil
	}
	tls11 := pki.clientConfig(true)
	tls11.MinVersion, tls11.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	tls12 := pki.clientConfig(true)
	tls12.MaxVersion = tls.VersionTLS12
	untrusting := withCert.Clone()
	untrusting.RootCAs = x509.NewCertPool()
	tests := []struct {
		name    string
		cfg     *tls.Config
		wantErr string // "": served
	}{
		{"client certificate", withCert, ""},
		{"client certificate, TLS 1.2", tls12, ""},
		{"no client certificate", pki.clientConfig(false), "certificate required"},
		{"client certificate from another CA", stranger, "unknown certificate authority"},
		{"TLS 1.1", tls11, "protocol version not supported"},
		{"client does not trust the server", untrusting, "certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tlsExchange(t, addr, tt.cfg, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if b := bodyOf(readResponses(t, got, "GET")[0]); !strings.HasSuffix(b, " true") {
					t.Errorf("ConnInfo %q", b)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) || got != "" {
				t.Errorf("got %q, %v; want the error %q", got, err, tt.wantErr)
			}
		})
	}
	// Plain HTTP, and silence: closed within HeaderTimeout.
	for _, raw := range []string{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", ""} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(ioTimeout))
		io.WriteString(nc, raw)
		if got, err := io.ReadAll(nc); err != nil || strings.Contains(string(got), "HTTP/1.1") {
			t.Errorf("plain %q: %q, %v", raw, got, err)
		}
		nc.Close()
	}
	if logged.String() != "" {
		t.Errorf("failed handshakes logged: %s", logged)
	}
}

func TestSendFileTLS(t *testing.T) {
	pki := newTestPKI(t)
	f := tempFile(t, fileData)
	mid := fileData[1000 : 1000+5<<20]
	_, addr := startServer(t, HandlerFunc(func(w *ResponseWriter, r *Request) {
		w.WriteHeader([]byte("200 OK"), nil)
		if string(r.Path) == "/chunked" {
			w.Write([]byte("head:"))
			w.SendFile(f, 1000, 5<<20)
			return
		}
		w.SendFile(f, 0, int64(len(fileData)))
	}), func(s *Server) { s.TLSConfig = pki.serverConfig(t, false) })
	got, err := tlsExchange(t, addr, pki.clientConfig(false),
		"GET / HTTP/1.1\r\nHost: h\r\n\r\nGET /chunked HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if err != nil {
		t.Fatal(err)
	}
	resps := readResponses(t, got, "GET", "GET")
	if b := bodyOf(resps[0]); b != string(fileData) {
		t.Errorf("whole file: %d bytes differ from the file's %d", len(b), len(fileData))
	}
	if b := bodyOf(resps[1]); b != "head:"+string(mid) || resps[1].TransferEncoding == nil {
		t.Errorf("chunked range: %d bytes, %v", len(b), resps[1].TransferEncoding)
	}
}

func TestLoadTLSConfigErrors(t *testing.T) {
	pki := newTestPKI(t)
	missing := filepath.Join(pki.dir, "missing.pem")
	garbage := filepath.Join(pki.dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not PEM\n"), 0o600)
	tests := []struct {
		name, cert, key, ca string
		named               string // the file the error must name
	}{
		{"missing certificate", missing, pki.keyFile, "", missing},
		{"missing key", pki.certFile, missing, "", missing},
		{"missing CA", pki.certFile, pki.keyFile, missing, missing},
		{"garbage certificate", garbage, pki.keyFile, "", garbage},
		{"key of another certificate", pki.certFile, pki.caFile, "", pki.caFile},
		{"garbage CA", pki.certFile, pki.keyFile, garbage, garbage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadTLSConfig(tt.cert, tt.key, tt.ca)
			if err == nil || !strings.Contains(err.Error(), tt.named) {
				t.Errorf("error %v does not name %s", err, tt.named)
			}
		})
	}
	cfg, err := LoadTLSConfig(pki.certFile, pki.keyFile, pki.caFile)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.RequireAndVerifyClientCert {
		t.Errorf("MinVersion %x, ClientAuth %v", cfg.MinVersion, cfg.ClientAuth)
	}
}
