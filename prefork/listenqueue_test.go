package prefork

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestListenQueue fills the accept queue of listeners no one accepts on and
// checks that listenerStats counts the waiting connections and reports the
// backlog asked for.
func TestListenQueue(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, addr, network string }{
		{"tcp", "127.0.0.1:0", "tcp"},
		{"unix", "unix:" + filepath.Join(dir, "q.sock"), "unix"},
		{"abstract unix", "unix:@gowsgi-queue-test-" + strconv.Itoa(os.Getpid()), "unix"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const backlog, waiting = 16, 3
			f, err := ListenConfig{Backlog: backlog}.Listen(tt.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			addr := strings.TrimPrefix(f.Name(), "unix:")
			for i := range waiting {
				c, err := net.DialTimeout(tt.network, addr, 5*time.Second)
				if err != nil {
					t.Fatalf("connection %d: %v", i, err)
				}
				defer c.Close()
			}
			// A TCP connection is queued once the handshake completes,
			// which the client sees a moment before the listener's side:
			// poll the queue, bounded by the deadline.
			var st ListenerStats
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				st = listenerStats([]*os.File{f})[0]
				if st.Queued == waiting || time.Now().After(deadline) {
					break
				}
			}
			want := ListenerStats{Name: f.Name(), Known: true, Queued: waiting, Limit: backlog}
			if st != want {
				t.Errorf("listenerStats = %+v, want %+v", st, want)
			}
		})
	}
	t.Run("closed", func(t *testing.T) {
		f, err := Listen("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if st := listenerStats([]*os.File{f})[0]; st.Known {
			t.Errorf("listenerStats of a closed listener = %+v, want Known false", st)
		}
	})
}
