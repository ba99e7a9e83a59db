// Package static serves files from directories under URL prefixes (the
// --static /url=DIR flag) in Go, so that requests for them never reach the
// Python application.
//
// Matching. A mount's prefix is compared with the request path after
// percent-decoding, the decoding PATH_INFO gets, so that a request the
// application would see as under the prefix is served here instead. The
// prefix matches on a segment boundary (/static matches /static and
// /static/x, not /staticx) and the longest matching prefix wins.
//
// Paths. The part of the path after the prefix is decoded once. A path
// holding NUL, a backslash or a ".." segment (also when it arrived encoded,
// e.g. %2e%2e or ..%2f) is answered 404 even when it would stay inside the
// directory; a path ending in '/' names a directory and is 404 too. There is
// no directory listing and no index file: only regular files are served;
// directories, devices, FIFOs and sockets are 404.
//
// Containment. Each directory is resolved to its real path and opened once,
// by New, as an os.Root: files are opened through it one component at a
// time, so a symbolic link is followed only while it stays beneath the
// directory, with no race between the check and the open. Absolute
// symbolic links are refused even when they point inside (an os.Root
// rule). Since the directory is held open, replacing the directory itself
// (rather than its content) takes a reload.
//
// Errors. A missing file, an unreadable one and one outside the directory
// are all 404, so that a response does not tell which files exist; only
// failures of the server itself (out of file descriptors or memory, I/O
// errors) are 500.
//
// Responses. GET and HEAD are served, other methods get 405. A file is sent
// with Content-Type from its extension (mime.TypeByExtension, which adds
// charset=utf-8 to text types; application/octet-stream when unknown),
// Content-Length, Last-Modified, a strong ETag made of the modification
// time and size, and Accept-Ranges: bytes; the body goes out with sendfile(2).
// If-None-Match (weak comparison, "*" included) and, in its absence,
// If-Modified-Since (to the second) give 304. A GET with a single byte
// range gets 206, or 416 when the range starts past the end; a Range with
// several ranges, or whose If-Range does not match, is ignored and the whole
// file sent. Range is ignored for HEAD (RFC 9110 defines it for GET only) and
// for an empty file.
package static
