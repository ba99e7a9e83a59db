// Package ascii holds the byte-level helpers that HTTP parsing and the WSGI
// environ both need, so neither package copies the other's.
package ascii

// EqualFold reports whether b equals lower, a lower-case ASCII string,
// ignoring the case of b. It allocates nothing.
func EqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
