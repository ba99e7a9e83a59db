package static

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

// Mount is one --static mapping: files of Dir are served under the URL
// path Prefix.
type Mount struct {
	Prefix string // "/static" (no trailing slash) or "/"
	Dir    string // as given; New resolves it
}

// ParseMount parses a --static value "/url=DIR". The URL prefix must be a
// clean absolute path (a trailing slash is dropped) and DIR an existing
// directory; the error quotes s.
func ParseMount(s string) (Mount, error) {
	prefix, dir, ok := strings.Cut(s, "=")
	if !ok || prefix == "" || dir == "" {
		return Mount{}, fmt.Errorf("static: mount %q: want /URL=DIR", s)
	}
	prefix, err := cleanPrefix(prefix)
	if err != nil {
		return Mount{}, fmt.Errorf("static: mount %q: %v", s, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return Mount{}, fmt.Errorf("static: mount %q: %v", s, err)
	}
	if !fi.IsDir() {
		return Mount{}, fmt.Errorf("static: mount %q: %s is not a directory", s, dir)
	}
	return Mount{Prefix: prefix, Dir: dir}, nil
}

// cleanPrefix checks a URL prefix and drops its trailing slash ("/" stays).
func cleanPrefix(p string) (string, error) {
	if !strings.HasPrefix(p, "/") {
		return "", fmt.Errorf("URL prefix %q does not start with '/'", p)
	}
	if strings.ContainsAny(p, "\x00\\") {
		return "", errors.New("URL prefix holds NUL or a backslash")
	}
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	if c := path.Clean(p); c != p {
		return "", fmt.Errorf("URL prefix %q is not a clean path (%q)", p, c)
	}
	return p, nil
}
