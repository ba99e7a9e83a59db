package wsgi

import "testing"

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
