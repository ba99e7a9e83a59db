package main

// End-to-end tests of what sits between gowsgi and the client: proxies
// (forwarded headers, PROXY protocol) and TLS.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestForwardedHeadersOnlyFromTrustedPeers(t *testing.T) {
	raw := "GET /remote HTTP/1.1\r\nHost: t\r\nX-Forwarded-For: 203.0.113.7, 198.51.100.2\r\nX-Forwarded-Proto: https\r\n\r\n"
	tests := []struct {
		name  string
		allow string
		want  string
	}{
		{"trusted (default 127.0.0.1)", "127.0.0.1", "198.51.100.2|https|203.0.113.7, 198.51.100.2"},
		{"trusted, and so is the last proxy", "127.0.0.1,198.51.100.0/24", "203.0.113.7|https|203.0.113.7, 198.51.100.2"},
		{"untrusted", "10.0.0.1", "127.0.0.1|http|203.0.113.7, 198.51.100.2"},
		{"everyone trusted: the left-most", "*", "203.0.113.7|https|203.0.113.7, 198.51.100.2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, "e2eapp:app", "--forwarded-allow-ips", tt.allow)
			c := s.dial(t)
			c.send(t, raw)
			if _, body := c.response(t, "GET"); body != tt.want {
				t.Errorf("got %q, want %q", body, tt.want)
			}
		})
	}
}

func TestProxyProtocol(t *testing.T) {
	s := startServer(t, "e2eapp:app", "--proxy-protocol")
	c := s.dial(t)
	c.send(t, "PROXY TCP4 192.0.2.1 192.0.2.2 5555 80\r\nGET /remote HTTP/1.1\r\nHost: t\r\n\r\n")
	if _, body := c.response(t, "GET"); body != "192.0.2.1|http|-" {
		t.Errorf("v1: got %q", body)
	}
	// A trusted peer that sends no PROXY header is closed on.
	c2 := s.dial(t)
	c2.send(t, "GET /remote HTTP/1.1\r\nHost: t\r\n\r\n")
	if _, err := http.ReadResponse(c2.r, nil); err == nil {
		t.Errorf("answered a trusted peer without a PROXY header")
	}
}

// writeCert makes a self-signed CA and a certificate for 127.0.0.1 signed
// by it, in PEM files under dir.
func writeCert(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "gowsgi test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)
	pool = x509.NewCertPool()
	pool.AddCert(caCert)
	return certFile, keyFile, pool
}

func TestTLS(t *testing.T) {
	cert, key, pool := writeCert(t, t.TempDir())
	s := startServer(t, "e2eapp:app", "--certfile", cert, "--keyfile", key)
	https := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true,
	}}
	resp, err := https.Get("https://" + s.addr + "/remote")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.HasPrefix(string(body), "127.0.0.1|https|") || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("over TLS: %q", body)
	}
	old := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11},
	}}
	if _, err := old.Get("https://" + s.addr + "/"); err == nil {
		t.Errorf("TLS 1.1 accepted")
	}
}

func TestUnreadableCertExits2(t *testing.T) {
	s := launch(t, "serve", "--bind", freePort(t), "--certfile", "/nonexistent/cert.pem", "--keyfile", "/nonexistent/key.pem", "e2eapp:app")
	if code := s.wait(t, 10*time.Second); code != 2 || !strings.Contains(s.log.String(), "/nonexistent/cert.pem") {
		t.Errorf("exit %d, output %q", code, s.log)
	}
}
