package static

import (
	"errors"
	"fmt"
	"mime"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/gowsgi/gowsgi/httpcore"
	"github.com/gowsgi/gowsgi/internal/ascii"
)

// Handler serves files for a set of mounts. It is safe for concurrent use.
type Handler struct {
	mounts []mount // longest prefix first
}

// mount is a Mount ready to serve.
type mount struct {
	prefix string   // without trailing slash: "" for "/"
	root   *os.Root // the directory, by its real path
}

// Status lines and fixed fields of the responses.
var (
	status200 = []byte("200 OK")
	status206 = []byte("206 Partial Content")
	status304 = []byte("304 Not Modified")
	status404 = []byte("404 Not Found")
	status405 = []byte("405 Method Not Allowed")
	status416 = []byte("416 Range Not Satisfiable")
	status500 = []byte("500 Internal Server Error")

	fieldAcceptRanges = httpcore.Header{Name: []byte("Accept-Ranges"), Value: []byte("bytes")}
	fieldAllow        = httpcore.Header{Name: []byte("Allow"), Value: []byte("GET, HEAD")}
	fieldTextPlain    = httpcore.Header{Name: []byte("Content-Type"), Value: []byte("text/plain; charset=utf-8")}
)

// New checks the mounts, resolves each directory to its absolute real path
// (symbolic links resolved) and opens it; two mounts with the same prefix
// are an error. Close releases the directories.
func New(mounts []Mount) (*Handler, error) {
	h := &Handler{}
	for _, m := range mounts {
		mt, err := h.add(m)
		if err != nil {
			h.Close()
			return nil, err
		}
		h.mounts = append(h.mounts, mt)
	}
	slices.SortStableFunc(h.mounts, func(a, b mount) int { return len(b.prefix) - len(a.prefix) })
	return h, nil
}

// add prepares m, checking it against the mounts already added.
func (h *Handler) add(m Mount) (mount, error) {
	prefix, err := cleanPrefix(m.Prefix)
	if err != nil {
		return mount{}, fmt.Errorf("static: mount %s=%s: %v", m.Prefix, m.Dir, err)
	}
	if prefix == "/" {
		prefix = ""
	}
	for _, o := range h.mounts {
		if o.prefix == prefix {
			return mount{}, fmt.Errorf("static: two mounts for URL prefix %q", m.Prefix)
		}
	}
	dir, err := filepath.Abs(m.Dir)
	if err == nil {
		dir, err = filepath.EvalSymlinks(dir)
	}
	if err != nil {
		return mount{}, fmt.Errorf("static: mount %s=%s: %v", m.Prefix, m.Dir, err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return mount{}, fmt.Errorf("static: mount %s=%s: %v", m.Prefix, m.Dir, err)
	}
	return mount{prefix: prefix, root: root}, nil
}

// Close releases the mounts' directories; the Handler must not serve
// afterwards.
func (h *Handler) Close() error {
	var errs []error
	for _, m := range h.mounts {
		errs = append(errs, m.root.Close())
	}
	return errors.Join(errs...)
}

// Match reports whether the request path (percent-encoded, as httpcore
// gives it) falls under a mount: its decoded form is a mount's prefix or
// continues it with '/'. It allocates nothing.
func (h *Handler) Match(path []byte) bool {
	m, _ := h.match(path)
	return m != nil
}

// match returns the mount with the longest prefix path falls under and
// where in path the rest begins, or nil.
func (h *Handler) match(path []byte) (*mount, int) {
	for i := range h.mounts {
		if rest, ok := underPrefix(path, h.mounts[i].prefix); ok {
			return &h.mounts[i], rest
		}
	}
	return nil, 0
}

// ServeHTTP implements httpcore.Handler for a request Match accepted; any
// other request gets 404.
func (h *Handler) ServeHTTP(w *httpcore.ResponseWriter, r *httpcore.Request) {
	m, rest := h.match(r.Path)
	if m == nil {
		replyText(w, status404, nil)
		return
	}
	get := string(r.Method) == "GET"
	if !get && string(r.Method) != "HEAD" {
		replyText(w, status405, []httpcore.Header{fieldAllow})
		return
	}
	name, ok := fileName(r.Path[rest:])
	if !ok {
		replyText(w, status404, nil)
		return
	}
	// O_NONBLOCK: opening a FIFO must not wait for a writer; it changes
	// nothing for a regular file.
	f, err := m.root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		replyText(w, openFailure(err), nil)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		replyText(w, status404, nil)
		return
	}
	serveFile(w, r, f, fi, get)
}

// openFailure returns the status for a file that could not be opened: 404
// for anything the request can cause, 500 for a failure of the server.
func openFailure(err error) []byte {
	for _, e := range [...]error{syscall.EMFILE, syscall.ENFILE, syscall.ENOMEM, syscall.EIO} {
		if errors.Is(err, e) {
			return status500
		}
	}
	return status404
}

// serveFile answers with the open regular file f: 304, 206, 416 or 200,
// the body (for GET) sent by sendfile(2).
func serveFile(w *httpcore.ResponseWriter, r *httpcore.Request, f *os.File, fi os.FileInfo, get bool) {
	size, mod := fi.Size(), fi.ModTime()
	etag := appendETag(make([]byte, 0, 40), size, mod)
	fields := make([]httpcore.Header, 0, 7)
	fields = append(fields,
		httpcore.Header{Name: []byte("ETag"), Value: etag},
		httpcore.Header{Name: []byte("Last-Modified"), Value: appendHTTPDate(make([]byte, 0, len(httpDate)), mod)})
	if notModified(r.Headers, etag, mod) {
		w.WriteHeader(status304, fields)
		return
	}
	fields = append(fields, contentType(fi.Name()), fieldAcceptRanges)
	status, offset, n := status200, int64(0), size
	// Range is defined for GET only (RFC 9110 §14.2), and an empty file has
	// no range to send.
	if rv := rangeField(r.Headers); get && size > 0 && rv != nil && ifRangeHolds(r, etag, mod) {
		switch o, l, kind := parseRange(rv, size); kind {
		case rangeSatisfiable:
			status, offset, n = status206, o, l
			fields = append(fields, contentRange(o, l, size))
		case rangeUnsatisfiable:
			cr := []byte("bytes */")
			w.WriteHeader(status416, []httpcore.Header{
				{Name: []byte("Content-Range"), Value: strconv.AppendInt(cr, size, 10)},
				{Name: []byte("Content-Length"), Value: []byte("0")},
			})
			return
		}
	}
	fields = append(fields, httpcore.Header{Name: []byte("Content-Length"), Value: strconv.AppendInt(nil, n, 10)})
	w.WriteHeader(status, fields)
	if get {
		// An error here is the client gone or the file cut short while
		// sending; httpcore closes the connection and nothing is left to do.
		w.SendFile(f, offset, n)
	}
}

// rangeField returns the value of the Range field, or nil when there is
// none or more than one.
func rangeField(headers []httpcore.Header) []byte {
	var v []byte
	for _, h := range headers {
		if ascii.EqualFold(h.Name, "range") {
			if v != nil {
				return nil
			}
			v = h.Value
		}
	}
	return v
}

// ifRangeHolds reports whether the request's If-Range, if any, lets its
// Range apply.
func ifRangeHolds(r *httpcore.Request, etag []byte, mod time.Time) bool {
	v := field(r.Headers, "if-range")
	return v == nil || ifRangeMatches(v, etag, mod)
}

// contentType returns the Content-Type field for a file named name.
func contentType(name string) httpcore.Header {
	t := mime.TypeByExtension(path.Ext(name))
	if t == "" {
		t = "application/octet-stream"
	}
	return httpcore.Header{Name: []byte("Content-Type"), Value: []byte(t)}
}

// contentRange returns the Content-Range field of n bytes from offset of a
// file of size bytes.
func contentRange(offset, n, size int64) httpcore.Header {
	v := append(make([]byte, 0, 64), "bytes "...)
	v = strconv.AppendInt(v, offset, 10)
	v = append(v, '-')
	v = strconv.AppendInt(v, offset+n-1, 10)
	v = append(v, '/')
	v = strconv.AppendInt(v, size, 10)
	return httpcore.Header{Name: []byte("Content-Range"), Value: v}
}

// replyText answers with status and its reason phrase as a plain-text body.
func replyText(w *httpcore.ResponseWriter, status []byte, extra []httpcore.Header) {
	w.WriteHeader(status, append(extra, fieldTextPlain))
	w.Write(status[4:])
	w.Write([]byte("\n"))
}
