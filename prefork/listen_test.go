package prefork

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
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
		{"no port", "localhost", "want HOST:PORT, [IPv6]:PORT, unix:PATH or fd://N"},
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

// TestInheritedListeners runs a supervisor that takes its listening socket
// from an inherited descriptor, as a wrapper or systemd passes it.
func TestInheritedListeners(t *testing.T) {
	tests := []struct {
		name string
		env  []string
	}{
		{name: "fd://3", env: []string{envTestListen + "=fd"}},
		{name: "systemd socket activation", env: []string{envTestListen + "=systemd", "LISTEN_FDS=1", "LISTEN_FDNAMES=http"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := Listen("127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Name()
			p := startSupervisor(t, ln, 1, false, tt.env...)
			w := p.awaitReady(t, 1)[0]
			if pid, err := getPID(httpClient(nil), "http://"+addr+"/"); err != nil || pid != w.PID {
				t.Errorf("answered by pid %d (%v), want %d", pid, err, w.PID)
			}
			p.cmd.Process.Signal(syscall.SIGTERM)
			p.awaitExit(t, 10*time.Second)
		})
	}
}

func TestListenConfig(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		lc    ListenConfig
		addr  string
		check func(t *testing.T, lc ListenConfig, f *os.File)
	}{
		{
			name: "ReusePort lets a second socket bind the address",
			lc:   ListenConfig{ReusePort: true},
			addr: "127.0.0.1:0",
			check: func(t *testing.T, lc ListenConfig, f *os.File) {
				g, err := lc.Listen(f.Name())
				if err != nil {
					t.Fatalf("second bind of %s: %v", f.Name(), err)
				}
				g.Close()
			},
		},
		{
			name: "Backlog",
			lc:   ListenConfig{Backlog: 7},
			addr: "127.0.0.1:0",
			check: func(t *testing.T, lc ListenConfig, f *os.File) {
				// For a listening socket, ss shows the backlog as Send-Q.
				_, port, _ := net.SplitHostPort(f.Name())
				out, err := exec.Command("ss", "-Hltn", "sport = :"+port).Output()
				if err != nil {
					t.Skipf("ss: %v", err)
				}
				if fields := strings.Fields(string(out)); len(fields) < 3 || fields[2] != "7" {
					t.Errorf("ss shows %q, want Send-Q 7", out)
				}
			},
		},
		{name: "Umask 0 lets everyone connect", lc: ListenConfig{}, addr: "unix:" + filepath.Join(dir, "a.sock"), check: wantMode(0o777)},
		{name: "Umask 077", lc: ListenConfig{Umask: 0o077}, addr: "unix:" + filepath.Join(dir, "b.sock"), check: wantMode(0o700)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := tt.lc.Listen(tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			tt.check(t, tt.lc, f)
		})
	}
}

// wantMode checks the permissions of a unix listener's socket file.
func wantMode(want os.FileMode) func(t *testing.T, lc ListenConfig, f *os.File) {
	return func(t *testing.T, lc ListenConfig, f *os.File) {
		fi, err := os.Stat(strings.TrimPrefix(f.Name(), "unix:"))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("socket file mode %v, want %v", got, want)
		}
	}
}

func TestListenFDErrors(t *testing.T) {
	regular, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer regular.Close()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	udp, err := conn.(*net.UDPConn).File()
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	tests := []struct {
		addr string
		want string
	}{
		{"fd://x", "want a descriptor number of at least 3"},
		{"fd://1", "want a descriptor number of at least 3"},
		{"fd://" + strconv.Itoa(int(regular.Fd())), "not a socket"},
		{"fd://" + strconv.Itoa(int(udp.Fd())), "does not listen"},
	}
	for _, tt := range tests {
		f, err := Listen(tt.addr)
		if err == nil {
			f.Close()
			t.Errorf("Listen(%q) succeeded, want an error containing %q", tt.addr, tt.want)
		} else if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Listen(%q) = %v, want an error containing %q", tt.addr, err, tt.want)
		}
	}
}
