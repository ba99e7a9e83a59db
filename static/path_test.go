package static

import "testing"

func TestUnderPrefix(t *testing.T) {
	tests := []struct {
		path, prefix string
		rest         int
		ok           bool
	}{
		{"/static", "/static", 7, true},
		{"/static/", "/static", 7, true},
		{"/static/a.css", "/static", 7, true},
		{"/staticx", "/static", 0, false},
		{"/stati", "/static", 0, false},
		{"/other/static/a", "/static", 0, false},
		{"/st%61tic/a", "/static", 9, true}, // the decoded path is compared
		{"/static%2fa", "/static", 7, true}, // %2f is a '/' in PATH_INFO too
		{"/static%2Fa", "/static", 7, true},
		{"/static%41", "/static", 0, false},
		{"/static%zz", "/static", 0, false},
		{"/a", "", 0, true}, // the "/" mount
		{"/", "", 0, true},
		{"*", "", 0, false},
		{"", "", 0, false},
		{"%2fstatic", "/static", 0, false},
	}
	for _, tt := range tests {
		rest, ok := underPrefix([]byte(tt.path), tt.prefix)
		if rest != tt.rest || ok != tt.ok {
			t.Errorf("underPrefix(%q, %q) = %d, %v, want %d, %v", tt.path, tt.prefix, rest, ok, tt.rest, tt.ok)
		}
	}
}

func TestFileName(t *testing.T) {
	tests := []struct {
		rest, name string
		ok         bool
	}{
		{"/a.txt", "a.txt", true},
		{"/sub/deep.css", "sub/deep.css", true},
		{"/a%20b.txt", "a b.txt", true},
		{"//sub/./deep.css", "sub/deep.css", true},
		{"/%252e%252e", "%2e%2e", true}, // decoded once only
		{"/100%", "100%", true},         // a stray '%' stands for itself
		{"/a%zz", "a%zz", true},
		{"", "", false},
		{"/", "", false},
		{"/.", "", false},
		{"/sub/", "", false},
		{"/sub%2f", "", false},
		{"/..", "", false},
		{"/../secret", "", false},
		{"/%2e%2e/secret", "", false},
		{"/%2E./secret", "", false},
		{"/.%2e/secret", "", false},
		{"/..%2fsecret", "", false},
		{"/%2e%2e%2fsecret", "", false},
		{"/a/../b", "", false}, // even when it would stay inside
		{"/a/..", "", false},
		{"/..\\secret", "", false},
		{"/..%5csecret", "", false},
		{"/a.txt%00.html", "", false},
		{"/...", "...", true},
		{"/..a", "..a", true},
	}
	for _, tt := range tests {
		name, ok := fileName([]byte(tt.rest))
		if name != tt.name || ok != tt.ok {
			t.Errorf("fileName(%q) = %q, %v, want %q, %v", tt.rest, name, ok, tt.name, tt.ok)
		}
	}
}
