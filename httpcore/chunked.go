package httpcore

import (
	"bytes"

	"github.com/gowsgi/gowsgi/internal/ascii"
)

// maxChunkLine bounds a chunk-size line (with extensions) and a trailer
// field line; it is smaller than tailRoom so that a line always fits.
const maxChunkLine = 4 << 10

// nextChunk reads chunk framing until chunk data is available
// (b.remaining > 0) or the body has ended (b.phase == phaseDone).
func (b *Body) nextChunk() error {
	for b.remaining == 0 {
		switch b.phase {
		case phaseDone:
			return nil
		case phaseDataEnd:
			if err := b.c.readCRLF(); err != nil {
				return err
			}
			b.phase = phaseSize
		case phaseSize:
			line, err := b.c.readLine()
			if err != nil {
				return err
			}
			size, err := parseChunkSize(line)
			if err != nil {
				return err
			}
			if size == 0 {
				if err := b.readTrailers(); err != nil {
					return err
				}
				b.phase = phaseDone
				return nil
			}
			b.remaining, b.phase = size, phaseDataEnd
		}
	}
	return nil
}

// parseChunkSize parses `chunk-size [ BWS ";" chunk-ext ]`; extensions are
// ignored but may hold no control character but HTAB.
func parseChunkSize(line []byte) (int64, error) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if n > (1<<63-1)>>4 {
			return 0, errChunkOverflow
		}
		n = n<<4 | int64(d)
	}
	if i == 0 {
		return 0, errChunkSize
	}
	ext := line[i:]
	for len(ext) > 0 && (ext[0] == ' ' || ext[0] == '\t') {
		ext = ext[1:]
	}
	if len(ext) == 0 {
		if i < len(line) {
			return 0, errChunkSize // whitespace and no extension
		}
		return n, nil
	}
	if ext[0] != ';' {
		return 0, errChunkSize
	}
	if !isFieldValue(ext) {
		return 0, errChunkExt
	}
	return n, nil
}

// unhex returns the value of hex digit c, or -1.
func unhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// readTrailers reads the trailer section after the last chunk, up to its
// empty line, and discards it. Fields that would change the framing or the
// target (Content-Length, Transfer-Encoding, Host) are refused.
func (b *Body) readTrailers() error {
	for {
		line, err := b.c.readLine()
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		b.trailer += len(line) + 2
		if b.trailer > b.c.srv.maxHeaderBytes() {
			return errTrailer
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 || !isToken(line[:colon]) || !isFieldValue(line[colon+1:]) {
			return errTrailer
		}
		name := line[:colon]
		if ascii.EqualFold(name, "content-length") || ascii.EqualFold(name, "transfer-encoding") || ascii.EqualFold(name, "host") {
			return errTrailerField
		}
	}
}

// readLine returns the next CRLF-terminated line of the body framing,
// without its CRLF. The line is valid until the next read.
func (c *conn) readLine() ([]byte, error) {
	for {
		i := bytes.IndexByte(c.buf[c.r:c.w], '\n')
		if i >= maxChunkLine || (i < 0 && c.w-c.r >= maxChunkLine) {
			return nil, errChunkLine
		}
		if i >= 0 {
			line := c.buf[c.r : c.r+i]
			c.r += i + 1
			if i == 0 || line[i-1] != '\r' {
				return nil, errChunkLF
			}
			return line[:i-1], nil
		}
		if err := c.fill(); err != nil {
			return nil, err
		}
	}
}

// readCRLF consumes the CRLF that must follow chunk data.
func (c *conn) readCRLF() error {
	for c.w-c.r < 2 {
		if err := c.fill(); err != nil {
			return err
		}
	}
	if c.buf[c.r] != '\r' || c.buf[c.r+1] != '\n' {
		return errChunkEnd
	}
	c.r += 2
	return nil
}
