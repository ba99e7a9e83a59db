package static

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseMount(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		s       string
		want    Mount
		wantErr string // a part of the error; "" for none
	}{
		{s: "/static=" + dir, want: Mount{"/static", dir}},
		{s: "/static/=" + dir, want: Mount{"/static", dir}},
		{s: "/a/b=" + dir, want: Mount{"/a/b", dir}},
		{s: "/=" + dir, want: Mount{"/", dir}},
		{s: "/x=" + dir + "/", want: Mount{"/x", dir + "/"}},
		{s: "static=" + dir, wantErr: "does not start with '/'"},
		{s: "=" + dir, wantErr: "want /URL=DIR"},
		{s: "/static", wantErr: "want /URL=DIR"},
		{s: "/static=", wantErr: "want /URL=DIR"},
		{s: "", wantErr: "want /URL=DIR"},
		{s: "/a/../b=" + dir, wantErr: "not a clean path"},
		{s: "/a//b=" + dir, wantErr: "not a clean path"},
		{s: "/a/.=" + dir, wantErr: "not a clean path"},
		{s: `/a\b=` + dir, wantErr: "backslash"},
		{s: "/static=" + dir + "/missing", wantErr: "no such file or directory"},
		{s: "/static=" + file, wantErr: "is not a directory"},
	}
	for _, tt := range tests {
		got, err := ParseMount(tt.s)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseMount(%q): %v", tt.s, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseMount(%q) = %+v, want %+v", tt.s, got, tt.want)
		case tt.wantErr != "" && err == nil:
			t.Errorf("ParseMount(%q) = %+v, want an error", tt.s, got)
		case tt.wantErr != "" && (!strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), strconv.Quote(tt.s))):
			t.Errorf("ParseMount(%q): error %q does not name the value and %q", tt.s, err, tt.wantErr)
		}
	}
}
