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
