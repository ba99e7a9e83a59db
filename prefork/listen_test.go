package prefork

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestListen(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	tests := []struct {
		name    string
		addr    string
		setup   func(t *testing.T)
		network string
		dial    string // address to connect to; "" means the file's Name
	}{
		{name: "IPv4 loopback, any port", addr: "127.0.0.1:0", network: "tcp"},
		{name: "IPv6 loopback, any port", addr: "[::1]:0", network: "tcp"},
		{name: "unix socket", addr: "unix:" + filepath.Join(dir, "a.sock"), network: "unix", dial: filepath.Join(dir, "a.sock")},
		{name: "abstract unix socket", addr: "unix:@gowsgi-prefork-test-" + strconv.Itoa(os.Getpid()), network: "unix", dial: "@gowsgi-prefork-test-" + strconv.Itoa(os.Getpid())},
		{
			name: "stale unix socket file is replaced",
			addr: "unix:" + stale,
			setup: func(t *testing.T) {
				ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: stale, Net: "unix"})
				if err != nil {
					t.Fatal(err)
				}
				ln.SetUnlinkOnClose(false)
				ln.Close() // leaves the file, as a killed server does
			},
			network: "unix",
			dial:    stale,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.setup != nil {
				tt.setup(t)
			}
			f, err := Listen(tt.addr)
			if err != nil && strings.HasPrefix(tt.addr, "[::1]") {
				t.Skipf("no IPv6 loopback: %v", err)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if strings.HasSuffix(f.Name(), ":0") {
				t.Errorf("Name() = %q, want the bound port", f.Name())
			}
			dial := tt.dial
			if dial == "" {
				dial = f.Name()
			} else if want := "unix:" + tt.dial; f.Name() != want {
				t.Errorf("Name() = %q, want %q", f.Name(), want)
			}
			conn, err := net.Dial(tt.network, dial)
			if err != nil {
				t.Fatalf("connecting to the new listener: %v", err)
			}
			conn.Close()
		})
	}
}

func TestListenErrors(t *testing.T) {
	dir := t.TempDir()
	busyTCP, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busyTCP.Close()
	busyUnix, err := net.Listen("unix", filepath.Join(dir, "busy.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer busyUnix.Close()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		addr string
		want string
	}{
		{"no port", "localhost", "want HOST:PORT, [IPv6]:PORT or unix:PATH"},
		{"empty unix path", "unix:", "empty socket path"},
		{"TCP address in use", busyTCP.Addr().String(), "address already in use"},
		{"live unix socket", "unix:" + filepath.Join(dir, "busy.sock"), "address in use"},
		{"unix path is a regular file", "unix:" + regular, "file exists and is not a socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Listen(tt.addr)
			if err == nil {
				f.Close()
				t.Fatalf("Listen(%q) succeeded, want an error containing %q", tt.addr, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Listen(%q) error = %q, want it to contain %q", tt.addr, err, tt.want)
			}
		})
	}
	if b, err := os.ReadFile(regular); err != nil || string(b) != "keep me" {
		t.Errorf("the regular file was touched: %q, %v", b, err)
	}
	if conn, err := net.Dial("unix", filepath.Join(dir, "busy.sock")); err != nil {
		t.Errorf("the live socket was removed: %v", err)
	} else {
		conn.Close()
	}
}
