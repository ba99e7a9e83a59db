package httpcore

import (
	"errors"
	"io"
	"os"
	"strconv"
	"sync"
)

// errSendFileRange is returned by SendFile for a negative offset or count.
var errSendFileRange = errors.New("httpcore: SendFile with a negative offset or count")

// copyBufs holds the buffers of copies that cannot use sendfile(2).
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// SendFile sends n bytes of f, starting at offset, as response body after
// whatever body is already buffered or flushed: it is the path for
// wsgi.file_wrapper, and it waits for the client.
// On a TCP or unix socket the bytes go from the file to the socket in the
// kernel (sendfile(2)); over TLS they are read into a pooled buffer to be
// encrypted. f's offset is moved, so f must not be read concurrently.
//
// It commits the head first. If the handler gave no Content-Length and
// wrote no body yet, the response gets "Content-Length: n": SendFile is
// then the whole body, and bytes written after it are dropped and close the
// connection. Otherwise the body framing is the usual one (the handler's
// Content-Length, chunked for HTTP/1.1, close-delimited for HTTP/1.0), and
// never more bytes than a Content-Length declares are sent. A response that
// carries no body (HEAD, 204, 304) sends nothing.
//
// A file shorter than offset+n fails with io.ErrUnexpectedEOF; that and a
// send error (the client is gone) are returned, and from then on by every
// call, and the connection closes.
func (w *ResponseWriter) SendFile(f *os.File, offset, n int64) error {
	if err := w.writable(); err != nil {
		return err
	}
	if offset < 0 || n < 0 {
		return errSendFileRange
	}
	if !w.headSent && w.length < 0 && w.written == 0 && len(w.body) == 0 &&
		w.code >= 200 && w.code != 204 && w.code != 304 {
		w.length = n
	}
	n, none := w.bodyBytes(n)
	if none {
		return nil
	}
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return err
	}
	if err := w.commitHeld(); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	if w.chunked {
		w.out = strconv.AppendInt(w.out, n, 16)
		w.out = append(w.out, "\r\n"...)
	}
	if err := w.send(); err != nil {
		return err
	}
	// sendfile(2) writes to the socket itself, so what the run-ahead
	// buffer holds must have gone first.
	if err := w.settle(); err != nil {
		return err
	}
	sent, err := w.c.sendFileBytes(f, n)
	w.written += sent
	if err == nil && sent < n {
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		return w.fail(err)
	}
	if w.chunked {
		w.out = append(w.out, "\r\n"...)
	}
	return nil
}

// copyFile sends the bytes of a limited file to nc.
func copyFile(nc io.Writer, lr *io.LimitedReader) (int64, error) {
	// io.Copy hands the LimitedReader to a socket's ReadFrom, which uses
	// sendfile(2) when it is given an *os.File limited this way.
	if _, ok := nc.(io.ReaderFrom); ok {
		return io.Copy(nc, lr)
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(nc, lr, *bp)
}
