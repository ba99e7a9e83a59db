package ascii

import "testing"

func TestEqualFold(t *testing.T) {
	tests := []struct {
		b, lower string
		want     bool
	}{
		{"Content-Length", "content-length", true},
		{"CONTENT-LENGTH", "content-length", true},
		{"content-length", "content-length", true},
		{"content-lengtH", "content-length", true},
		{"content-lengths", "content-length", false},
		{"", "", true},
		{"Host", "hosT", false}, // lower must be lower-case
		{"[", "{", false},       // only letters fold
	}
	for _, tt := range tests {
		if got := EqualFold([]byte(tt.b), tt.lower); got != tt.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tt.b, tt.lower, got, tt.want)
		}
	}
}

func TestAppendUnescaped(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/plain", "/plain"},
		{"/a%20b", "/a b"},
		{"/%2Fslash", "//slash"},
		{"/caf%C3%a9", "/caf\xc3\xa9"},
		{"/bad%zz", "/bad%zz"},
		{"/trail%4", "/trail%4"},
		{"/end%", "/end%"},
		{"%41%42", "AB"},
	}
	for _, tt := range tests {
		if got := string(AppendUnescaped(nil, []byte(tt.in))); got != tt.want {
			t.Errorf("AppendUnescaped(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
