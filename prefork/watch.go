package prefork

import (
	"io/fs"
	"path/filepath"
	"strings"
	"time"
)

// changeEvent reports that a watched file changed.
type changeEvent struct{ path string }

func (e changeEvent) apply(a *arbiter) {
	a.log.Info("file changed", "path", e.path)
	a.reload("changed: " + e.path)
}

// watch polls the *.py files under dirs every interval and reports the
// first change it sees in each round, until Run returns.
func (a *arbiter) watch(dirs []string, interval time.Duration) {
	seen := scanSources(dirs)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-a.done:
			return
		}
		now := scanSources(dirs)
		if path, changed := firstChange(seen, now); changed {
			a.post(changeEvent{path})
		}
		seen = now
	}
}

// scanSources maps each *.py file under dirs, recursively, to its
// modification time, skipping hidden directories and __pycache__. Files it
// cannot read are left out.
func scanSources(dirs []string) map[string]time.Time {
	files := make(map[string]time.Time)
	for _, dir := range dirs {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return nil
			}
			name := d.Name()
			if d.IsDir() {
				if path != dir && (strings.HasPrefix(name, ".") || name == "__pycache__") {
					return filepath.SkipDir
				}
				return nil
			}
			if !strings.HasSuffix(name, ".py") {
				return nil
			}
			if fi, err := d.Info(); err == nil {
				files[path] = fi.ModTime()
			}
			return nil
		})
	}
	return files
}

// firstChange returns a file added, modified or removed between two scans.
func firstChange(before, after map[string]time.Time) (string, bool) {
	for path, mtime := range after {
		if old, ok := before[path]; !ok || !old.Equal(mtime) {
			return path, true
		}
	}
	for path := range before {
		if _, ok := after[path]; !ok {
			return path, true
		}
	}
	return "", false
}
