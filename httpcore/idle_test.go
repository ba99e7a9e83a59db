package httpcore

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gowsgi/gowsgi/internal/race"
)

// idleConns is how many idle keep-alive connections TestIdleConnMemory
// holds at once (fewer with the race detector, which is slow to open them
// and whose larger stack guard makes each goroutine's stack 4 KiB), and
// idleConnBudget what each may cost the server.
const (
	idleConns      = 3000
	idleConnsRace  = 300
	idleConnBudget = 4096
)

// idleClientsEnv names the environment variable that makes the test
// binary, run again as TestIdleClients, open connections: "count address".
const idleClientsEnv = "GOWSGI_IDLE_CLIENTS"

// TestIdleConnMemory holds idleConns keep-alive connections idle between
// requests and checks what they cost the server: Go heap and stacks in use
// after a GC, at most idleConnBudget bytes each. The clients live in a
// child process (the test binary again, as TestIdleClients), so that
// neither figure, nor the RSS growth logged, counts their side. Each
// round has one request answered on every connection, the first on new
// connections; the connections are measured after the second round and
// must then serve a third.
func TestIdleConnMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 3,000 connections")
	}
	conns := idleConns
	if race.Enabled {
		conns = idleConnsRace
	}
	ensureFiles(t, uint64(conns)+100)
	// The keep-alive time only has to outlast the test; TestIdleWait
	// checks the deadline.
	_, addr := startServer(t, pathHandler, func(s *Server) { s.KeepAlive = time.Minute })

	// Two collections empty the pools of earlier tests' buffers.
	runtime.GC()
	runtime.GC()
	before := readMem()
	rssBefore := rss(t)

	cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClients$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %s", idleClientsEnv, conns, addr))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Closing stdin ends the child, which closes its connections.
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
	out := bufio.NewScanner(stdout)
	round := func() {
		t.Helper()
		if _, err := io.WriteString(stdin, "round\n"); err != nil {
			t.Fatal(err)
		}
		if !out.Scan() {
			t.Fatalf("client process ended: %v", out.Err())
		}
		if got := out.Text(); got != "served" {
			t.Fatalf("client process said %q", got)
		}
	}
	// perConn returns what each connection adds to the heap and stacks
	// in use once every one waits on a new goroutine. Two collections
	// empty the pools and free the stacks of ended goroutines.
	perConn := func() (heap, stack float64) {
		waitHandedOff(t, conns)
		runtime.GC()
		runtime.GC()
		m := readMem()
		heap = float64(int64(m.HeapInuse)-int64(before.HeapInuse)) / float64(conns)
		stack = float64(int64(m.StackInuse)-int64(before.StackInuse)) / float64(conns)
		return heap, stack
	}

	round()
	// A new goroutine's stack size is the runtime's estimate from the
	// stacks it saw at its last collection: before the first round, only
	// the test's own; before the second, idle connections'. The first
	// figure is logged, the second checked.
	heap, stack := perConn()
	t.Logf("%d connections idle after 1 request, each: heap %.0f + stack %.0f = %.0f bytes", conns, heap, stack, heap+stack)
	round()
	heap, stack = perConn()
	t.Logf("%d connections idle after 2 requests, each: heap %.0f + stack %.0f = %.0f bytes; RSS %+.0f bytes",
		conns, heap, stack, heap+stack, float64(rss(t)-rssBefore)/float64(conns))
	if heap+stack > idleConnBudget && !race.Enabled {
		t.Errorf("an idle connection holds %.0f bytes, over %d", heap+stack, idleConnBudget)
	}
	round()
}

// TestIdleClients is TestIdleConnMemory's client process; run alone it
// does nothing. For each line read from stdin it has one request answered
// on each of the connections idleClientsEnv asks for, opening them the
// first time, and says "served". It exits, closing them, at the end of
// stdin; after a failure, written to stderr, with status 1.
func TestIdleClients(t *testing.T) {
	var n int
	var addr string
	if _, err := fmt.Sscan(os.Getenv(idleClientsEnv), &n, &addr); err != nil {
		t.Skip("the client process of TestIdleConnMemory")
	}
	fail := func(format string, args ...any) {
		fmt.Fprintf(os.Stderr, "idle clients: "+format+"\n", args...)
		os.Exit(1)
	}
	conns := make([]net.Conn, n)
	readers := make([]*bufio.Reader, n)
	in := bufio.NewScanner(os.Stdin)
	for round := 1; in.Scan(); round++ {
		var wg sync.WaitGroup
		next := make(chan int)
		for range 8 {
			wg.Go(func() {
				for i := range next {
					if conns[i] == nil {
						nc, err := net.Dial("tcp", addr)
						if err != nil {
							fail("dial %d: %v", i, err)
						}
						nc.SetDeadline(time.Now().Add(time.Minute))
						conns[i], readers[i] = nc, bufio.NewReaderSize(nc, 512)
					}
					path := fmt.Sprintf("/round%d/conn%d", round, i)
					if _, err := io.WriteString(conns[i], "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n"); err != nil {
						fail("connection %d: sending %s: %v", i, path, err)
					}
					resp, err := http.ReadResponse(readers[i], nil)
					if err != nil {
						fail("connection %d: response to %s: %v", i, path, err)
					}
					if b := bodyOf(resp); resp.StatusCode != 200 || b != path || resp.Close {
						fail("connection %d: response to %s: %d %q, close %v", i, path, resp.StatusCode, b, resp.Close)
					}
				}
			})
		}
		for i := range conns {
			next <- i
		}
		close(next)
		wg.Wait()
		fmt.Println("served")
	}
	os.Exit(0)
}

// waitingIn returns how many goroutines wait in readIdle called by caller
// (a conn method): awaitRequest, once an idle connection has handed its
// wait to a new goroutine.
func waitingIn(caller string) int {
	var b strings.Builder
	pprof.Lookup("goroutine").WriteTo(&b, 1)
	// Each stack is a line "count @ addresses", then a line per frame from
	// the innermost.
	n, count, inRead := 0, 0, false
	for line := range strings.Lines(b.String()) {
		if c, _, ok := strings.Cut(line, " @ "); ok {
			count, _ = strconv.Atoi(c)
			continue
		}
		if inRead && strings.Contains(line, ".(*conn)."+caller+"+") {
			n += count
		}
		inRead = strings.Contains(line, ".(*conn).readIdle+")
	}
	return n
}

// waitHandedOff waits until n idle connections wait on new goroutines.
func waitHandedOff(t testing.TB, n int) {
	t.Helper()
	waitUntil(t, "idle connections to wait on new goroutines", func() bool { return waitingIn("awaitRequest") == n })
}

// pathBodyHandler answers 200 with the request path followed by the body.
var pathBodyHandler = HandlerFunc(func(w *ResponseWriter, r *Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		echo(w, nil, err)
		return
	}
	w.WriteHeader([]byte("200 OK"), nil)
	w.Write(r.Path)
	w.Write(b)
})

// TestIdleWait checks a connection waiting for its next request without a
// read buffer, on the goroutine that served the last one or on a new
// goroutine: the request that ends the wait arrives whole, in whatever
// pieces it comes; pipelined bytes are kept; the keep-alive time, the
// client's close and Close end the wait.
func TestIdleWait(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) { testIdleWait(t, network) })
	}
}

// testIdleWait is TestIdleWait over network.
func testIdleWait(t *testing.T, network string) {
	start := func(t *testing.T, keepAlive time.Duration) (*Server, string) {
		address := "127.0.0.1:0"
		if network == "unix" {
			address = t.TempDir() + "/s.sock"
		}
		return startServerOn(t, network, address, pathBodyHandler, func(s *Server) { s.KeepAlive = keepAlive })
	}
	dial := func(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
		nc := dialTest(t, &net.Dialer{}, network, addr)
		return nc, bufio.NewReader(nc)
	}
	expect := func(t *testing.T, br *bufio.Reader, want string) {
		t.Helper()
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("response: %v", err)
		}
		if b := bodyOf(resp); resp.StatusCode != 200 || b != want {
			t.Fatalf("response %d %.40q... (%d bytes), want %.40q... (%d bytes)", resp.StatusCode, b, len(b), want, len(want))
		}
	}

	t.Run("next request", func(t *testing.T) {
		_, addr := start(t, time.Minute)
		nc, br := dial(t, addr)
		// More than a read buffer holds.
		body := strings.Repeat("0123456789abcdef", 2<<10)
		for i, handedOff := range []bool{false, true, false, true} {
			if handedOff {
				waitHandedOff(t, 1)
			}
			path := "/request" + strconv.Itoa(i)
			head := "POST " + path + " HTTP/1.1\r\nHost: h\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n"
			for _, piece := range []string{head[:1], head[1:], body[:100], body[100:]} {
				if _, err := io.WriteString(nc, piece); err != nil {
					t.Fatal(err)
				}
			}
			expect(t, br, path+body)
		}
	})

	t.Run("pipelined", func(t *testing.T) {
		_, addr := start(t, time.Minute)
		nc, br := dial(t, addr)
		io.WriteString(nc, "GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\n")
		expect(t, br, "/a")
		io.WriteString(nc, "Host: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n")
		expect(t, br, "/b")
		expect(t, br, "/c")
	})

	// A keep-alive time shorter than handOffDelay ends the wait on the
	// goroutine that served, a longer one on a new goroutine.
	for _, keepAlive := range []time.Duration{handOffDelay / 2, 10 * handOffDelay} {
		t.Run("keep-alive "+keepAlive.String(), func(t *testing.T) {
			_, addr := start(t, keepAlive)
			nc, br := dial(t, addr)
			// The server starts the keep-alive wait after this request
			// was sent.
			sent := time.Now()
			io.WriteString(nc, "GET /k HTTP/1.1\r\nHost: h\r\n\r\n")
			expect(t, br, "/k")
			expectEOF(t, br)
			if idle := time.Since(sent); idle < keepAlive || idle > keepAlive+5*time.Second {
				t.Errorf("closed %v after the request was sent, keep-alive time %v", idle, keepAlive)
			}
		})
	}

	t.Run("client closes", func(t *testing.T) {
		s, addr := start(t, time.Minute)
		nc, br := dial(t, addr)
		io.WriteString(nc, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
		expect(t, br, "/x")
		waitHandedOff(t, 1)
		nc.Close()
		waitUntil(t, "the server to drop the connection", func() bool { return connsIn(s, stateActive) == 0 })
	})

	t.Run("Close", func(t *testing.T) {
		s, addr := start(t, time.Minute)
		idle, idleR := dial(t, addr)
		io.WriteString(idle, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
		expect(t, idleR, "/x")
		_, freshR := dial(t, addr)
		waitHandedOff(t, 1)
		waitUntil(t, "the new connection to wait", func() bool { return connsIn(s, stateNew) == 1 })
		s.Close()
		expectEOF(t, idleR)
		expectEOF(t, freshR)
	})
}

// TestIdleWaitServeConn checks that a connection given to ServeConn, which
// waits for its next request on its caller's goroutine, without a read
// buffer, serves it, closes after its keep-alive time, and returns then.
func TestIdleWaitServeConn(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := &Server{Handler: pathHandler, KeepAlive: 10 * handOffDelay}
	served := make(chan struct{})
	go func() {
		defer close(served)
		if nc, err := l.Accept(); err == nil {
			s.ServeConn(nc)
		}
	}()
	nc := dialTest(t, &net.Dialer{}, "tcp", l.Addr().String())
	br := bufio.NewReader(nc)
	roundTrip(t, nc, br, "/first")
	waitUntil(t, "the connection to wait in readHead", func() bool { return waitingIn("read") == 1 })
	roundTrip(t, nc, br, "/second")
	expectEOF(t, br)
	<-served
}

// ensureFiles raises the open file limit to at least n, or skips the test.
func ensureFiles(t *testing.T, n uint64) {
	t.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Skipf("reading the open file limit: %v", err)
	}
	if lim.Cur >= n {
		return
	}
	raised := syscall.Rlimit{Cur: n, Max: max(lim.Max, n)}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &raised); err != nil {
		t.Skipf("needs %d open files, the limit is %d and cannot be raised: %v", n, lim.Cur, err)
	}
}

// readMem returns the runtime's memory statistics.
func readMem() *runtime.MemStats {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return &ms
}

// rss returns the process's resident memory in bytes.
func rss(t *testing.T) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		t.Fatalf("/proc/self/statm: %q", b)
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		t.Fatalf("/proc/self/statm: %q", b)
	}
	return pages * int64(os.Getpagesize())
}
