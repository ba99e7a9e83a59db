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
			if b.limit > 0 && size > b.limit-b.total {
				return errChunkedLimit
			}
			b.total += size
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

// parseChunkSize parses `chunk-size [ chunk-ext ]`. Whitespace is allowed
// only inside the extensions, around ';' and '='; the extensions are
// checked and ignored.
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
	if len(ext) == 0 {
		return n, nil
	}
	if t := trimLeftWS(ext); len(t) == 0 || t[0] != ';' {
		return 0, errChunkSize
	}
	if !isChunkExt(ext) {
		return 0, errChunkExt
	}
	return n, nil
}

// isChunkExt reports whether b is an RFC 9112 chunk-ext:
// *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] ).
func isChunkExt(b []byte) bool {
	for len(b) > 0 {
		b = trimLeftWS(b)
		if len(b) == 0 || b[0] != ';' {
			return false
		}
		b = trimLeftWS(b[1:])
		n := tokenLen(b)
		if n == 0 {
			return false
		}
		b = b[n:]
		if rest := trimLeftWS(b); len(rest) > 0 && rest[0] == '=' {
			b = trimLeftWS(rest[1:])
			if len(b) > 0 && b[0] == '"' {
				n = quotedLen(b)
			} else {
				n = tokenLen(b)
			}
			if n == 0 {
				return false
			}
			b = b[n:]
		}
	}
	return true
}

// trimLeftWS strips leading SP and HTAB.
func trimLeftWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

// tokenLen returns the length of the token at the start of b.
func tokenLen(b []byte) int {
	n := 0
	for n < len(b) && tchar[b[n]] {
		n++
	}
	return n
}

// quotedLen returns the length of the RFC 9110 quoted-string at the start
// of b (which starts with '"'), or 0 if it is malformed.
func quotedLen(b []byte) int {
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1
		case c == '\\':
			i++
			if i == len(b) || !isQuotedText(b[i]) {
				return 0
			}
		case !isQuotedText(c):
			return 0
		}
	}
	return 0
}

// isQuotedText reports whether c may appear in a quoted-string: HTAB, SP,
// visible ASCII and obs-text.
func isQuotedText(c byte) bool { return c == '\t' || (c >= ' ' && c != 0x7f) }

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
