package wsgi

import (
	"os"
	"testing"

	"github.com/gowsgi/gowsgi/internal/race"
)

// BenchmarkServeHello measures one request through App.Serve: the handoff
// to an executor, the cgo call, and copying the response out.
func BenchmarkServeHello(b *testing.B) {
	r := get("/hello", "")
	rec := &recorder{}
	b.ReportAllocs()
	for b.Loop() {
		rec.body.Reset()
		testApp.Serve(r, rec)
	}
	if rec.body.String() != "Hello, World!" {
		b.Fatalf("body %q", rec.body.String())
	}
}

// BenchmarkServeHelloParallel is the same with requests from many
// goroutines, as connections make them.
func BenchmarkServeHelloParallel(b *testing.B) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		r := get("/hello", "")
		rec := &recorder{}
		for pb.Next() {
			rec.body.Reset()
			testApp.Serve(r, rec)
		}
	})
}

// discard is a ResponseSink that keeps nothing, so allocations counted
// around it are the bridge's own.
type discard struct{ n int }

func (d *discard) WriteHeader([]byte, []Header)          {}
func (d *discard) Write(p []byte) (int, error)           { d.n += len(p); return len(p), nil }
func (d *discard) Flush() error                          { return nil }
func (d *discard) HeadSent() bool                        { return false }
func (d *discard) Abort()                                {}
func (d *discard) FinishNow()                            {}
func (d *discard) SendFile(*os.File, int64, int64) error { return nil }
func (d *discard) WriteHeld(chunks [][]byte, _ interface{ Release() }) bool {
	for _, c := range chunks {
		d.n += len(c)
	}
	return false
}

// TestServeAllocatesNothing checks the Go side of a request: building the
// fields, the handoff and copying the response out allocate nothing.
func TestServeAllocatesNothing(t *testing.T) {
	if race.Enabled {
		t.Skip("the race detector changes allocation counts")
	}
	r := get("/hello", "")
	d := &discard{}
	testApp.Serve(r, d) // warm the pools and buffers
	if n := testing.AllocsPerRun(200, func() { testApp.Serve(r, d) }); n != 0 {
		t.Errorf("%v allocations per request", n)
	}
}
