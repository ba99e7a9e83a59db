package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// djangoSite is pyapps/djangosite with its database and collected static
// files in a temporary directory.
type djangoSite struct {
	dir    string   // the project (manage.py)
	env    []string // DJANGOSITE_* for manage.py and the workers
	static string   // STATIC_ROOT, filled by collectstatic
}

// newDjangoSite migrates a fresh sqlite database, collects the static
// files and creates a superuser admin/PASSWORD, with Debian's Python.
func newDjangoSite(t *testing.T, password string) *djangoSite {
	t.Helper()
	tmp := t.TempDir()
	dir, err := filepath.Abs("../../pyapps/djangosite")
	if err != nil {
		t.Fatal(err)
	}
	d := &djangoSite{dir: dir, static: filepath.Join(tmp, "static"), env: []string{
		"DJANGOSITE_DB=" + filepath.Join(tmp, "db.sqlite3"),
		"DJANGOSITE_STATIC_ROOT=" + filepath.Join(tmp, "static"),
	}}
	d.manage(t, nil, "migrate", "--noinput")
	d.manage(t, nil, "collectstatic", "--noinput")
	d.manage(t, []string{"DJANGO_SUPERUSER_PASSWORD=" + password},
		"createsuperuser", "--noinput", "--username", "admin", "--email", "admin@example.com")
	return d
}

func (d *djangoSite) manage(t *testing.T, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("/usr/bin/python3", append([]string{"manage.py"}, args...)...)
	cmd.Dir = d.dir
	cmd.Env = append(append(append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1"), d.env...), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("manage.py %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

var csrfInput = regexp.MustCompile(`name="csrfmiddlewaretoken" value="([^"]+)"`)

// TestDjangoSite runs a real Django project through gowsgi with two workers:
// the admin login page with its static files (served by --static, since
// Django serves none with DEBUG off), a login, a model created through a
// form POST under CSRF protection, and the list showing it.
func TestDjangoSite(t *testing.T) {
	const password = "correct horse battery staple"
	site := newDjangoSite(t, password)
	args := []string{"--workers", "2", "--chdir", site.dir, "--static", "/static=" + site.static}
	for _, e := range site.env {
		args = append(args, "--env", e)
	}
	s := startServer(t, "djangosite.wsgi:application", args...)
	base := "http://" + s.addr
	jar, _ := cookiejar.New(nil)
	c := &http.Client{
		Timeout:       20 * time.Second,
		Jar:           jar,
		Transport:     &http.Transport{DisableKeepAlives: true}, // requests spread over both workers
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	do := func(method, path string, form url.Values) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, base+path, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Referer", base+path)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	token := func(page string) string {
		t.Helper()
		m := csrfInput.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token in the page:\n%.2000s", page)
		}
		return m[1]
	}

	// The notes need a login.
	if resp, _ := do("GET", "/notes/", nil); resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), "/admin/login/") {
		t.Fatalf("GET /notes/ logged out: %d to %q, want 302 to the login page", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The admin login page and its stylesheet.
	resp, page := do("GET", "/admin/login/?next=/notes/", nil)
	if resp.StatusCode != 200 || !strings.Contains(page, "/static/admin/css/login.css") {
		t.Fatalf("GET /admin/login/: %d, want 200 and a link to /static/admin/css/login.css:\n%.2000s", resp.StatusCode, page)
	}
	for _, css := range []string{"/static/admin/css/base.css", "/static/admin/css/login.css"} {
		resp, body := do("GET", css, nil)
		want, _ := os.ReadFile(filepath.Join(site.static, strings.TrimPrefix(css, "/static/")))
		if resp.StatusCode != 200 || body != string(want) || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") {
			t.Errorf("GET %s: %d %q, %d bytes; want 200 text/css and the collected file (%d bytes)",
				css, resp.StatusCode, resp.Header.Get("Content-Type"), len(body), len(want))
		}
	}

	// A wrong password is refused; the right one logs in.
	resp, page = do("POST", "/admin/login/?next=/notes/", url.Values{
		"csrfmiddlewaretoken": {token(page)}, "username": {"admin"}, "password": {"wrong"}, "next": {"/notes/"}})
	if resp.StatusCode != 200 || !strings.Contains(page, "Please enter the correct username and password") {
		t.Fatalf("login with a wrong password: %d, want the form again with an error", resp.StatusCode)
	}
	resp, _ = do("POST", "/admin/login/?next=/notes/", url.Values{
		"csrfmiddlewaretoken": {token(page)}, "username": {"admin"}, "password": {password}, "next": {"/notes/"}})
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/notes/" {
		t.Fatalf("login: %d to %q, want 302 to /notes/", resp.StatusCode, resp.Header.Get("Location"))
	}

	// The form, a POST without its CSRF token (refused), and with it.
	resp, page = do("GET", "/notes/new/", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /notes/new/: %d", resp.StatusCode)
	}
	const title = "Grüße from gowsgi"
	if resp, _ := do("POST", "/notes/new/", url.Values{"title": {title}}); resp.StatusCode != 403 {
		t.Errorf("POST without a CSRF token: %d, want 403", resp.StatusCode)
	}
	resp, _ = do("POST", "/notes/new/", url.Values{"csrfmiddlewaretoken": {token(page)}, "title": {title}, "body": {"hello"}})
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/notes/" {
		t.Fatalf("POST /notes/new/: %d to %q, want 302 to /notes/", resp.StatusCode, resp.Header.Get("Location"))
	}

	// Listed afterwards, by either worker.
	for range 4 {
		resp, page = do("GET", "/notes/", nil)
		if resp.StatusCode != 200 || !strings.Contains(page, `<li class="note">`+title+` by admin</li>`) {
			t.Fatalf("GET /notes/: %d, want the new note listed:\n%.2000s", resp.StatusCode, page)
		}
	}
}
