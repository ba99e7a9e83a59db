package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// nginxArgv writes the configuration of an nginx that answers the hello
// case's bytes itself into l.Tmp and returns its command line: in the
// foreground, as the leader the benchmark stops with SIGTERM, with its error
// log on stderr (the server log) from the first line on.
func nginxArgv(_ *config, l launch) ([]string, error) {
	conf := filepath.Join(l.Tmp, "nginx.conf")
	if err := os.WriteFile(conf, []byte(nginxConfig(l.Tmp, l.Addr, l.Workers, l.Case)), 0o644); err != nil {
		return nil, err
	}
	return []string{nginxBin, "-p", l.Tmp, "-c", conf, "-e", "stderr"}, nil
}

// nginxConfig is the configuration of nginx with the given number of worker
// processes, listening on addr and answering every request with c's bytes
// and the headers the hello app sends (Content-Type: text/plain and
// Content-Length), as `return 200` does: the cost of an HTTP exchange on
// this kernel with no application behind it. Every path nginx writes is
// under dir, so it runs from a temporary directory, as any user.
func nginxConfig(dir, addr string, workers int, c benchCase) string {
	return fmt.Sprintf(`daemon off;
master_process on;
worker_processes %d;
pid %s;
error_log stderr warn;
events {
	worker_connections 4096;
}
http {
	access_log off;
	client_body_temp_path %s;
	proxy_temp_path %s;
	fastcgi_temp_path %s;
	uwsgi_temp_path %s;
	scgi_temp_path %s;
	server {
		listen %s;
		location / {
			default_type text/plain;
			return 200 %s;
		}
	}
}
`, workers, filepath.Join(dir, "nginx.pid"), dir, dir, dir, dir, dir, addr, strconv.Quote(string(c.Want)))
}
