package static

import (
	"bytes"
	"path"

	"github.com/gowsgi/gowsgi/internal/ascii"
)

// underPrefix reports whether p, a percent-encoded request path, decodes
// to prefix (stored without its trailing slash, "" for "/") followed by
// nothing or by '/', and returns where in p the rest begins. It allocates
// nothing: Match runs it for every request.
func underPrefix(p []byte, prefix string) (int, bool) {
	if len(p) == 0 || p[0] != '/' {
		return 0, false
	}
	i := 0
	for j := 0; j < len(prefix); j++ {
		c, n := ascii.DecodedAt(p, i)
		if n == 0 || c != prefix[j] {
			return 0, false
		}
		i += n
	}
	if c, n := ascii.DecodedAt(p, i); n > 0 && c != '/' {
		return 0, false
	}
	return i, true
}

// fileName turns rest, the still-encoded part of a path after a mount's
// prefix ("/css/site%20v2.css"), into the name to open beneath the mount's
// directory ("css/site v2.css"). It decodes once, then refuses a name
// holding NUL, a backslash or a ".." segment, and one that is empty or ends
// in '/' (a directory). "." segments and repeated slashes are cleaned away.
func fileName(rest []byte) (string, bool) {
	dec := make([]byte, 0, len(rest))
	for i := 0; i < len(rest); {
		c, n := ascii.DecodedAt(rest, i)
		if c == 0 || c == '\\' {
			return "", false
		}
		dec = append(dec, c)
		i += n
	}
	if len(dec) == 0 || dec[len(dec)-1] == '/' {
		return "", false
	}
	for seg := range bytes.SplitSeq(dec, []byte("/")) {
		if string(seg) == ".." {
			return "", false
		}
	}
	name := path.Clean(string(dec)) // dec starts with '/': underPrefix saw to it
	if name == "/" {
		return "", false
	}
	return name[1:], true
}
