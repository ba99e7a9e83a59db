// Package accesslog writes gowsgi's access log and builds its error log, with
// gunicorn's command-line conventions: --access-logfile, --access-logformat
// (gunicorn's atoms, see DefaultFormat), --log-json, --error-logfile and
// --log-level.
//
// Logging stays off the request path. Logger.Log copies the few byte fields
// the compiled format needs into one of a fixed set of preallocated records
// and hands it through a bounded queue to a writer goroutine, which formats
// and batches lines into a buffer flushed at most 100 ms after a line enters
// it. When every record is in flight (the disk or the pipe behind stdout is
// slower than the traffic) Log drops the entry and counts it rather than
// block a response; the count is reported to the error log periodically as
// "access log: dropped N records". In steady state nothing on the way from
// Log to the file allocates.
//
// With --log-json each line is one JSON object with the same fields in the
// same order:
//
//	{"time":"2000-10-10T13:55:36.123-07:00","remote_addr":"192.0.2.7","method":"GET",
//	 "path":"/a","query":"q=1","protocol":"HTTP/1.1","status":200,"bytes":1234,
//	 "duration_ms":1.234,"referer":"","user_agent":"curl/8.0","pid":1234}
//
// time is RFC 3339 with milliseconds, in the Location of Entry.Start; path is
// still percent-encoded; duration_ms has microsecond resolution; absent
// fields are empty strings, so each field always has the same type.
//
// Text lines escape every field the way Apache's mod_log_config does, so
// that no request can forge a line or break the quoting: '"' and '\' get a
// backslash, and bytes outside printable ASCII are written as \xHH. JSON
// lines are valid UTF-8: control characters are escaped and each byte that
// is not part of valid UTF-8 becomes \ufffd, as encoding/json does.
package accesslog
