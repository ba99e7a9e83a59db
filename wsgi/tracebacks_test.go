package wsgi

import (
	"bytes"
	"io"
	"strings"
	"testing"
	"time"
)

// TestWriteTracebacks holds a request inside the app, reading a body that
// has not come, and checks that WriteTracebacks shows the app's frame and
// that the request then completes.
func TestWriteTracebacks(t *testing.T) {
	body, sender := io.Pipe()
	r := post("/echo", "", "", false)
	r.ContentLength, r.Body = 5, body
	served := make(chan *recorder, 1)
	go func() {
		rec := &recorder{}
		testApp.Serve(r, rec)
		served <- rec
	}()
	var dump bytes.Buffer
	// polling dumps until the app is in echo, bounded by the deadline
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(dump.String(), "in echo"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			sender.Close()
			t.Fatalf("no frame of echo in the tracebacks after 10s:\n%s", dump.String())
		}
		dump.Reset()
		if err := WriteTracebacks(&dump); err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(dump.String(), "bridgeapp.py") || !strings.Contains(dump.String(), "Thread 0x") {
		t.Errorf("tracebacks without the app's file or a thread header:\n%s", dump.String())
	}
	io.WriteString(sender, "hello")
	sender.Close()
	select {
	case rec := <-served:
		if rec.body.String() != "hello" {
			t.Errorf("the request after the dump answered %q, want hello", rec.body.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the request did not finish after the dump")
	}
}
