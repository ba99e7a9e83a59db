package hopbyhop

import "testing"

func TestIs(t *testing.T) {
	for name, want := range map[string]bool{
		"Connection": true, "KEEP-ALIVE": true, "Transfer-Encoding": true, "te": true, "Trailers": true,
		"Upgrade": true, "Proxy-Connection": true, "Proxy-Authorization": true,
		"Content-Length": false, "Content-Type": false, "T": false, "tee": false, "": false, "X-Upgrade": false,
	} {
		if got := Is([]byte(name)); got != want {
			t.Errorf("Is(%q) = %v, want %v", name, got, want)
		}
	}
}
