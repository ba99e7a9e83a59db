package ascii

// DecodedAt returns the byte that p, a percent-encoded path, decodes to at
// i, and how many bytes of p it takes: 3 for a %XX escape, 1 otherwise, 0
// at the end of p. A '%' not followed by two hex digits stands for itself.
// PATH_INFO and the static file handler decode with it, so what the app is
// told and what is served from disk always agree.
func DecodedAt(p []byte, i int) (byte, int) {
	if i >= len(p) {
		return 0, 0
	}
	if p[i] == '%' && i+2 < len(p) {
		hi, ok1 := unhex(p[i+1])
		lo, ok2 := unhex(p[i+2])
		if ok1 && ok2 {
			return hi<<4 | lo, 3
		}
	}
	return p[i], 1
}

// AppendUnescaped appends p with its %XX escapes decoded (as DecodedAt
// reads them) to dst.
func AppendUnescaped(dst, p []byte) []byte {
	for i := 0; i < len(p); {
		c, n := DecodedAt(p, i)
		dst = append(dst, c)
		i += n
	}
	return dst
}

// unhex returns the value of the hex digit c.
func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
