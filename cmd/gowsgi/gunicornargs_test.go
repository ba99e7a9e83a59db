package main

import (
	"slices"
	"strings"
	"testing"
)

func TestShellSplit(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"--bind=127.0.0.1 --workers=3", []string{"--bind=127.0.0.1", "--workers=3"}},
		{"  -w  2\t-b x ", []string{"-w", "2", "-b", "x"}},
		{`--access-logformat '%(h)s "%(r)s"'`, []string{"--access-logformat", `%(h)s "%(r)s"`}},
		{`-e "A=b c" -e B=\"q\"`, []string{"-e", "A=b c", "-e", `B="q"`}},
		{`"a\\b\n"`, []string{`a\b\n`}},
		{`x''y ""`, []string{"xy", ""}},
		{`a\ b`, []string{"a b"}},
	}
	for _, tt := range tests {
		got, err := shellSplit(tt.in)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("shellSplit(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`'open`, `"open`, `end\`} {
		if got, err := shellSplit(bad); err == nil {
			t.Errorf("shellSplit(%q) = %q, want an error", bad, got)
		}
	}
}

func TestParseGunicornArgs(t *testing.T) {
	tests := []struct {
		in   string
		want map[string]string // setting: its value, printed
	}{
		{"--bind=127.0.0.1:9 --workers=3", map[string]string{"bind": `["127.0.0.1:9"]`, "workers": `"3"`}},
		{"-b a -b b -w3 -t 60", map[string]string{"bind": `["a","b"]`, "workers": `"3"`, "timeout": `"60"`}},
		{"-k gthread --threads 4 --keep-alive 5 myapp:app", map[string]string{"worker_class": `"gthread"`, "threads": `"4"`, "keepalive": `"5"`}},
		// argparse takes an unambiguous prefix of a long option
		{"--graceful 2 --max-requests-j 7 --access-logfi -", map[string]string{"graceful_timeout": `"2"`, "max_requests_jitter": `"7"`, "accesslog": `"-"`}},
		{"--reload --preload --no-sendfile -RD", map[string]string{"reload": "True", "preload_app": "True", "sendfile": "False", "enable_stdio_inheritance": "True", "daemon": "True"}},
		{"-e A=1,2 --env B=3 -c conf.py", map[string]string{"raw_env": `["A=1,2","B=3"]`, "config": `"conf.py"`}},
		{"--limit-request-field_size 100 -m 007 -- --workers 9", map[string]string{"limit_request_field_size": `"100"`, "umask": `"007"`}},
		{"-w 2 -w 4", map[string]string{"workers": `"4"`}},
	}
	for _, tt := range tests {
		got, err := parseGunicornArgs(tt.in)
		if err != nil {
			t.Errorf("%q: %v", tt.in, err)
			continue
		}
		printed := map[string]string{}
		for name, v := range got {
			printed[name] = printable(v.value)
			if v.layer != fromGunicornArgs || v.source != gunicornArgsVar {
				t.Errorf("%q: %s from %v %q", tt.in, name, v.layer, v.source)
			}
		}
		if !equalMaps(printed, tt.want) {
			t.Errorf("%q: got %v, want %v", tt.in, printed, tt.want)
		}
	}
	for _, bad := range []struct{ in, why string }{
		{"--workerz 2", "unrecognized option --workerz"},
		{"--worker 2", "ambiguous option --worker"},
		{"--limit-request-field-size 5", "unrecognized option"},
		{"--workers", "--workers expects a value"},
		{"-w --reload", "-w expects a value"},
		{"--reload=yes", "takes no value"},
		{"--help", "no place here"},
		{"-x", "unrecognized option -x"},
		{"--bind 'unclosed", "no closing quotation"},
	} {
		if _, err := parseGunicornArgs(bad.in); err == nil || !strings.Contains(err.Error(), bad.why) {
			t.Errorf("%q: error %v, want one saying %q", bad.in, err, bad.why)
		}
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
