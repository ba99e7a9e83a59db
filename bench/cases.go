package main

import "bytes"

// benchCase is one application the servers are loaded with: where its WSGI
// module lives, how wrk calls it, and the bytes it must answer, which the
// benchmark checks once before loading a server.
type benchCase struct {
	Name   string
	Dir    string // directory holding the module, relative to the repo root
	Spec   string // module:callable
	Method string // GET or POST
	Body   []byte // request body wrk posts, if any
	Want   []byte // the response body every server must send
}

// echoBody is the 10 KiB the echo case posts and expects back.
var echoBody = bytes.Repeat([]byte("x"), 10240)

// allCases are the benchmark cases in report order; bench/ceiling serves the
// same bytes under the same names.
var allCases = []benchCase{
	{Name: "hello", Dir: "bench/apps", Spec: "hello:app", Method: "GET", Want: []byte("Hello, World!")},
	{Name: "body10k", Dir: "bench/apps", Spec: "body10k:app", Method: "GET", Want: bytes.Repeat([]byte("x"), 10240)},
	{Name: "echo", Dir: "bench/apps", Spec: "echo:app", Method: "POST", Body: echoBody, Want: echoBody},
	{Name: "stream", Dir: "bench/apps", Spec: "stream:app", Method: "GET", Want: bytes.Repeat([]byte("chunk of a streamed body\n"), 100)},
	{Name: "flask", Dir: "pyapps", Spec: "flask_app:app", Method: "GET", Want: []byte("Hello from Flask!\n")},
	{Name: "django", Dir: "pyapps", Spec: "django_app:app", Method: "GET", Want: []byte("Hello from Django!\n")},
}
