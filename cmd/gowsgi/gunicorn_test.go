package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

// TestTranslateGunicorn checks what each kind of gunicorn setting becomes,
// from values as a Python file's JSON gives them.
func TestTranslateGunicorn(t *testing.T) {
	fn := func(name string) pyObject { return pyObject{kind: "function", name: name} }
	tests := []struct {
		name    string
		view    map[string]any
		flags   map[string][]string // flag: values set
		notes   map[string]string   // setting: "warn", "refuse" or "note" (neither)
		wantErr string
	}{
		{name: "numbers and strings", view: map[string]any{"workers": json.Number("5"), "threads": "4", "timeout": json.Number("0"), "loglevel": "DEBUG", "accesslog": "-", "errorlog": nil},
			flags: map[string][]string{"workers": {"5"}, "threads": {"4"}, "timeout": {"0"}, "log-level": {"debug"}, "access-logfile": {"-"}}},
		{name: "lists", view: map[string]any{"bind": []any{"127.0.0.1:1", "unix:/s"}, "raw_env": "A=1,2", "pythonpath": "lib, src,", "forwarded_allow_ips": []any{"10.0.0.1", "10.0.0.2"}},
			flags: map[string][]string{"bind": {"127.0.0.1:1", "unix:/s"}, "env": {"A=1,2"}, "pythonpath": {"lib", "src"}, "forwarded-allow-ips": {"10.0.0.1,10.0.0.2"}}},
		{name: "addresses as gunicorn reads them", view: map[string]any{"bind": []any{"0.0.0.0", "[::1]", "tcp://127.0.0.1:2", "unix:///run/s.sock", "fd://3"}},
			flags: map[string][]string{"bind": {"0.0.0.0:8000", "[::1]:8000", "127.0.0.1:2", "unix:/run/s.sock", "fd://3"}}},
		{name: "umask as gunicorn reads it", view: map[string]any{"umask": json.Number("18")}, flags: map[string][]string{"umask": {"22"}}},
		{name: "umask string", view: map[string]any{"umask": "007"}, flags: map[string][]string{"umask": {"7"}}},
		{name: "user and group ids", view: map[string]any{"user": json.Number("33"), "group": "www-data"}, flags: map[string][]string{"user": {"33"}, "group": {"www-data"}}},
		{name: "switches", view: map[string]any{"reload": true, "proxy_protocol": "true", "capture_output": false, "reuse_port": nil},
			flags: map[string][]string{"reload": {"true"}, "proxy-protocol": {"true"}, "capture-output": {"false"}}},
		{name: "gthread", view: map[string]any{"worker_class": "gthread"}, notes: map[string]string{"worker_class": "note"}},
		{name: "sync class", view: map[string]any{"worker_class": pyObject{kind: "class", name: "gunicorn.workers.sync.SyncWorker"}}, notes: map[string]string{"worker_class": "note"}},
		{name: "gevent", view: map[string]any{"worker_class": "gevent"}, notes: map[string]string{"worker_class": "refuse"}},
		{name: "uvicorn", view: map[string]any{"worker_class": "uvicorn.workers.UvicornWorker"}, notes: map[string]string{"worker_class": "refuse"}},
		{name: "client certificates required", view: map[string]any{"cert_reqs": json.Number("2"), "ca_certs": "ca.pem"},
			flags: map[string][]string{"ca-certs": {"ca.pem"}}, notes: map[string]string{"cert_reqs": "note"}},
		{name: "ca_certs alone", view: map[string]any{"ca_certs": "ca.pem"}, notes: map[string]string{"ca_certs": "note"}},
		{name: "optional client certificates", view: map[string]any{"cert_reqs": "1", "ca_certs": "ca.pem"}, notes: map[string]string{"cert_reqs": "warn", "ca_certs": "note"}},
		{name: "required without ca_certs", view: map[string]any{"cert_reqs": json.Number("2")}, wantErr: "needs ca_certs"},
		{name: "scheme header gowsgi reads", view: map[string]any{"secure_scheme_headers": map[string]any{"X-FORWARDED-PROTO": "https"}}, notes: map[string]string{"secure_scheme_headers": "note"}},
		{name: "scheme headers default", view: map[string]any{"secure_scheme_headers": map[string]any{"X-FORWARDED-PROTOCOL": "ssl", "X-FORWARDED-PROTO": "https", "X-Forwarded-Ssl": "on"}},
			notes: map[string]string{"secure_scheme_headers": "note"}},
		{name: "scheme header gowsgi ignores", view: map[string]any{"secure_scheme_headers": map[string]any{"X-FORWARDED-SSL": "on"}}, notes: map[string]string{"secure_scheme_headers": "warn"}},
		{name: "ignored at gunicorn's default", view: map[string]any{"worker_tmp_dir": nil, "reload_engine": "auto", "daemon": false, "logconfig_dict": map[string]any{}, "ssl_version": json.Number("2")},
			notes: map[string]string{"worker_tmp_dir": "note", "reload_engine": "note", "daemon": "note", "logconfig_dict": "note", "ssl_version": "note"}},
		{name: "ignored, set", view: map[string]any{"worker_tmp_dir": "/dev/shm", "reload_engine": "inotify", "daemon": true, "statsd_host": "localhost:8125"},
			notes: map[string]string{"worker_tmp_dir": "warn", "reload_engine": "warn", "daemon": "warn", "statsd_host": "warn"}},
		{name: "hooks", view: map[string]any{"post_fork": fn("post_fork"), "when_ready": fn("ready")}, notes: map[string]string{"post_fork": "note", "when_ready": "note"}},
		{name: "hook not callable", view: map[string]any{"post_fork": "post_fork"}, wantErr: "must be a callable"},
		{name: "not a number", view: map[string]any{"workers": "many"}, wantErr: "want a whole number"},
		{name: "negative", view: map[string]any{"timeout": json.Number("-1")}, wantErr: "want a whole number"},
		{name: "float", view: map[string]any{"timeout": json.Number("2.5")}, wantErr: "want a whole number"},
		{name: "function for a value", view: map[string]any{"workers": fn("count")}, wantErr: "want a value, got function count"},
		{name: "no dirty apps", view: map[string]any{"dirty_apps": []any{}}, notes: map[string]string{"dirty_apps": "note"}},
		{name: "dirty apps", view: map[string]any{"dirty_apps": []any{"app:Model"}}, notes: map[string]string{"dirty_apps": "refuse"}},
		{name: "uwsgi protocol", view: map[string]any{"protocol": "uwsgi"}, notes: map[string]string{"protocol": "refuse"}},
		{name: "wsgi_app", view: map[string]any{"wsgi_app": "mysite.wsgi:application"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			view := map[string]gunicornValue{}
			for name, v := range tt.view {
				view[name] = gunicornValue{value: v, layer: fromFile, source: "file conf.py", origin: name}
			}
			tr, err := translateGunicorn(view)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			flags := map[string][]string{}
			for _, f := range tr.flags {
				flags[f.flag] = f.values
				if f.layer != fromFile || !strings.HasPrefix(f.source, "file conf.py (") {
					t.Errorf("%s from %v %q", f.flag, f.layer, f.source)
				}
			}
			if len(flags) != len(tt.flags) {
				t.Errorf("flags %v, want %v", flags, tt.flags)
			}
			for f, want := range tt.flags {
				if !slices.Equal(flags[f], want) {
					t.Errorf("flag %s = %q, want %q", f, flags[f], want)
				}
			}
			notes := map[string]string{}
			for _, n := range tr.notes {
				notes[n.name] = map[bool]string{true: "warn", false: "note"}[n.warn]
				if n.refuse {
					notes[n.name] = "refuse"
				}
			}
			if !equalMaps(notes, tt.notes) && len(notes)+len(tt.notes) > 0 {
				t.Errorf("notes %v, want %v (%+v)", notes, tt.notes, tr.notes)
			}
		})
	}
}

// TestGunicornSettingsAreSound checks the table: one entry per name and per
// option, every flag it names exists, every entry says what gowsgi does.
func TestGunicornSettingsAreSound(t *testing.T) {
	flags := map[string]bool{}
	for _, fi := range serveFlagInfos() {
		flags[fi.name] = true
	}
	names, options := map[string]bool{}, map[string]bool{}
	for _, g := range gunicornSettings {
		if names[g.name] {
			t.Errorf("%s is listed twice", g.name)
		}
		names[g.name] = true
		for _, o := range g.options {
			if options[o] {
				t.Errorf("option %s is listed twice", o)
			}
			options[o] = true
		}
		if (len(g.options) > 0) != (g.takes != argNone) {
			t.Errorf("%s: options %q with takes %v", g.name, g.options, g.takes)
		}
		kinds := 0
		for _, does := range []bool{g.flag != "", g.ignored != "", g.hook, g.special != nil} {
			if does {
				kinds++
			}
		}
		switch {
		case kinds != 1:
			t.Errorf("%s: says %d things gowsgi does with it, want 1", g.name, kinds)
		case g.flag != "" && (!flags[g.flag] || g.conv == nil):
			t.Errorf("%s: flag --%s does not exist or has no conversion", g.name, g.flag)
		case g.special != nil && g.doc == "":
			t.Errorf("%s: no doc for the README", g.name)
		case g.ignored != "" && g.dflt != anyValue && g.dflt != noDefault:
			if _, err := json.Marshal(g.dflt); err != nil {
				t.Errorf("%s: default %v: %v", g.name, g.dflt, err)
			}
		}
	}
}

// gunicornTable is the README's table of gunicorn's settings.
func gunicornTable() string {
	var b strings.Builder
	b.WriteString("| gunicorn setting | its options | in gowsgi |\n| --- | --- | --- |\n")
	for _, g := range gunicornSettings {
		var does string
		switch {
		case g.flag != "" && g.doc != "":
			does = "`--" + g.flag + "`: " + g.doc
		case g.flag != "":
			does = "`--" + g.flag + "`"
		case g.hook:
			does = "server hook: recognised (`--print-config` lists it), not run yet; no warning"
		case g.special != nil:
			does = g.doc
		case g.dflt == anyValue:
			does = "no effect: " + g.ignored
		case g.dflt == noDefault:
			does = "ignored (a warning): " + g.ignored
		default:
			does = fmt.Sprintf("ignored (a warning unless gunicorn's default, `%s`): %s", printable(g.dflt), g.ignored)
		}
		var opts []string
		for _, o := range g.options {
			opts = append(opts, "`"+o+"`")
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", g.name, strings.Join(opts, ", "), does)
	}
	return b.String()
}

// TestREADMEGunicornTable checks that the README lists every gunicorn
// setting as gunicornSettings says.
func TestREADMEGunicornTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if want := gunicornTable(); !strings.Contains(string(readme), want) {
		t.Errorf("README.md's \"Coming from gunicorn\" table is not gunicornSettings'; it should be:\n%s", want)
	}
}
