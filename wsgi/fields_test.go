package wsgi

import "testing"

func TestHeaderKeys(t *testing.T) {
	tests := []struct {
		name    string
		key     int
		spelled string // the key's bytes for an uncommon header
	}{
		{"Host", keyFirstHeader, ""},
		{"USER-AGENT", keyFirstHeader + 1, ""},
		{"Content-Type", keyContentType, ""},
		{"content-length", keyContentLength, ""},
		{"X-Request-Id", customKey, "HTTP_X_REQUEST_ID"},
		{"x-lower", customKey, "HTTP_X_LOWER"},
		{"X_Under", -2, ""}, // dropped
	}
	for _, tt := range tests {
		var b fieldBuilder
		b.addHeader([]byte(tt.name), []byte("v"))
		if tt.key == -2 {
			if len(b.fields) != 0 {
				t.Errorf("%s: kept, want dropped", tt.name)
			}
			continue
		}
		if len(b.fields) != 1 || int(b.fields[0].key) != tt.key {
			t.Errorf("%s: fields %+v, want key %d", tt.name, b.fields, tt.key)
			continue
		}
		f := b.fields[0]
		if got := string(b.buf[f.koff : f.koff+f.klen]); got != tt.spelled {
			t.Errorf("%s: key bytes %q, want %q", tt.name, got, tt.spelled)
		}
		if got := string(b.buf[f.voff : f.voff+f.vlen]); got != "v" {
			t.Errorf("%s: value %q", tt.name, got)
		}
	}
}

func TestRootPath(t *testing.T) {
	tests := []struct{ root, path, script, pathInfo string }{
		{"/app", "/app/environ", "/app", "/environ"},
		{"/app", "/app", "/app", ""},
		{"/app", "/application/environ", "/app", "/application/environ"},
		{"/app", "/other", "/app", "/other"},
		{"/a b", "/a%20b/x", "/a b", "/x"}, // matched against the decoded path
		{"", "/x", "", "/x"},
	}
	for _, tt := range tests {
		r := get(tt.path, "")
		r.ScriptName = []byte(tt.root)
		var fb fieldBuilder
		fb.build(r)
		got := map[int]string{}
		for _, f := range fb.fields {
			got[int(f.key)] = string(fb.buf[f.voff : f.voff+f.vlen])
		}
		if got[keyScriptName] != tt.script || got[keyPathInfo] != tt.pathInfo {
			t.Errorf("root %q path %q: SCRIPT_NAME %q PATH_INFO %q, want %q %q",
				tt.root, tt.path, got[keyScriptName], got[keyPathInfo], tt.script, tt.pathInfo)
		}
	}
}

func BenchmarkFieldBuild(b *testing.B) {
	r := get("/some/path%20x", "q=1")
	r.Headers = append(r.Headers,
		Header{Name: []byte("User-Agent"), Value: []byte("wrk")},
		Header{Name: []byte("Accept"), Value: []byte("*/*")},
		Header{Name: []byte("X-Request-Id"), Value: []byte("abc")},
	)
	var fb fieldBuilder
	b.ReportAllocs()
	for b.Loop() {
		fb.build(r)
	}
}
