package httpcore

import (
	"io"
	"time"
)

// sendPiece is the most a connection hands the socket under one write
// deadline: SendTimeout bounds the time between two successive writes, not
// a whole response, so a large write is cut into pieces and each piece gets
// a fresh deadline. A client taking less than sendPiece per SendTimeout is
// as good as stalled.
const sendPiece = 256 << 10

// defaultSendTimeout is SendTimeout's default, nginx's send_timeout.
const defaultSendTimeout = 60 * time.Second

// sendTimeout returns the time a client may take no bytes, or 0 for no
// limit.
func (s *Server) sendTimeout() time.Duration {
	return limitOrDefault(s.SendTimeout, defaultSendTimeout)
}

// armSend sets the write deadline for the next piece written. Setting a
// deadline costs more than writing a small response, so one set less than
// SendTimeout/16 ago is kept: a piece gets between 15/16 of SendTimeout
// and SendTimeout.
func (c *conn) armSend() {
	d := c.srv.sendTimeout()
	if d <= 0 {
		return
	}
	now := time.Now()
	if c.sendBy.Sub(now) > d-d/16 {
		return
	}
	c.sendBy = now.Add(d)
	c.nc.SetWriteDeadline(c.sendBy)
}

// write sends p to the client, piece by piece, each within SendTimeout.
func (c *conn) write(p []byte) error {
	for {
		n := min(len(p), sendPiece)
		c.armSend()
		if _, err := c.nc.Write(p[:n]); err != nil {
			return err
		}
		p = p[n:]
		if len(p) == 0 {
			return nil
		}
	}
}

// writeBuffers sends bufs to the client with writev where the connection
// supports it, sendPiece bytes at a time, each piece within SendTimeout.
// It consumes bufs (the slice and its elements are changed).
func (c *conn) writeBuffers(bufs [][]byte) error {
	// The connection's piece is reused, so that a call allocates nothing;
	// it is cleared after, so as not to keep the caller's bytes alive.
	piece := &c.piece
	all := (*piece)[:0]
	defer func() { clear(all[:cap(all)]); *piece = all[:0] }()
	for len(bufs) > 0 {
		all = all[:0]
		for n := 0; len(bufs) > 0 && n < sendPiece; {
			b := bufs[0]
			if room := sendPiece - n; len(b) > room {
				all = append(all, b[:room])
				bufs[0] = b[room:]
				break
			}
			all = append(all, b)
			n += len(b)
			bufs = bufs[1:]
		}
		c.armSend()
		// WriteTo consumes *piece; all keeps its backing array.
		*piece = all
		if _, err := piece.WriteTo(c.nc); err != nil {
			return err
		}
	}
	return nil
}

// sendFileBytes sends the n bytes of a file reader to the client (with
// sendfile(2) where it can), sendPiece bytes at a time, each piece within
// SendTimeout; it returns the bytes sent.
func (c *conn) sendFileBytes(r io.Reader, n int64) (int64, error) {
	var sent int64
	lr := &io.LimitedReader{R: r}
	for sent < n {
		lr.N = min(n-sent, sendPiece)
		c.armSend()
		k, err := copyFile(c.nc, lr)
		sent += k
		if err != nil {
			return sent, err
		}
		if lr.N > 0 {
			break // the file ended early
		}
	}
	return sent, nil
}
