package main

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// rssLimit is the resident memory a worker must stay under while moving
// a large body.
const rssLimit = 100 << 20

// zeros is an endless reader of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// largeBodies streams uploadBytes to an app reading wsgi.input in 64 KiB
// pieces and downloadBytes to a slow reader, watching the worker's memory;
// and checks that --limit-request-body refuses a larger upload with 413
// without the app reading past the limit.
func largeBodies(cfg *config) result {
	s, err := startServer(cfg, "stress/apps", "stressapp:app", "--workers", "1", "--timeout", "600")
	if err != nil {
		return result{figures: err.Error()}
	}
	defer s.stop()
	worker := s.workerPIDs()[0]
	// watch samples the worker's memory until the function it returns is
	// called, which gives the peak.
	watch := func() func() int64 {
		stop := make(chan struct{})
		peak := peakRSS(func() int64 { return rss(worker) }, stop)
		return func() int64 { close(stop); return <-peak }
	}
	c := &http.Client{Timeout: 10 * time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}

	// Upload.
	end := watch()
	t0 := time.Now()
	req, _ := http.NewRequest("POST", "http://"+s.addr+"/upload", io.LimitReader(zeros{}, cfg.uploadBytes))
	req.ContentLength = cfg.uploadBytes
	var counted int64
	resp, err := c.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		counted, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	upTook := time.Since(t0)
	upPeak := end()
	uploadOK := err == nil && counted == cfg.uploadBytes && upPeak < rssLimit

	// Slow download.
	end = watch()
	t0 = time.Now()
	var got int64
	resp, err = c.Get(fmt.Sprintf("http://%s/download?%d", s.addr, cfg.downloadBytes))
	if err == nil {
		buf := make([]byte, 64<<10)
		for {
			n, rerr := io.ReadFull(resp.Body, buf)
			got += int64(n)
			if rerr != nil {
				if rerr != io.EOF && rerr != io.ErrUnexpectedEOF {
					err = rerr
				}
				break
			}
			time.Sleep(cfg.readPause)
		}
		resp.Body.Close()
	}
	downTook := time.Since(t0)
	downPeak := end()
	downloadOK := err == nil && got == cfg.downloadBytes && downPeak < rssLimit

	limitFig, limitOK := bodyLimit(cfg)
	return result{pass: uploadOK && downloadOK && limitOK, figures: fmt.Sprintf(
		"upload %s: app counted %d (%v, %.0fMB/s), worker peak RSS %s (<100MB); slow download %s: got %d (%v), peak RSS %s (<100MB); %s",
		mb(cfg.uploadBytes), counted, upTook.Round(time.Millisecond), float64(cfg.uploadBytes)/(1<<20)/upTook.Seconds(), mb(upPeak),
		mb(cfg.downloadBytes), got, downTook.Round(time.Millisecond), mb(downPeak), limitFig)}
}

// bodyLimit sends 2 MB with --limit-request-body 1048576, once with a
// Content-Length and once chunked: both get 413, the first without calling
// the app, the second without the app reading past the limit (with
// --body-buffer at its default, 1 MiB, the connection reads it first and
// the app is not called either).
func bodyLimit(cfg *config) (string, bool) {
	const limit = 1 << 20
	s, err := startServer(cfg, "stress/apps", "stressapp:app", "--workers", "1", "--limit-request-body", strconv.Itoa(limit))
	if err != nil {
		return err.Error(), false
	}
	defer s.stop()
	c := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	post := func(chunked bool) (int, error) {
		req, _ := http.NewRequest("POST", "http://"+s.addr+"/upload", io.LimitReader(zeros{}, 2<<20))
		if chunked {
			req.ContentLength = -1
		} else {
			req.ContentLength = 2 << 20
		}
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	st1, err1 := post(false)
	after1, err := s.stats()
	if err != nil {
		return "stats: " + err.Error(), false
	}
	st2, err2 := post(true)
	after2, err := s.stats()
	if err != nil {
		return "stats: " + err.Error(), false
	}
	ok := err1 == nil && err2 == nil && st1 == 413 && after1.Upload == 0 && st2 == 413 && after2.Upload <= 1 && after2.UploadRead <= limit
	return fmt.Sprintf("--limit-request-body 1MiB, 2MiB upload: Content-Length %d (app calls %d), chunked %d (app calls %d, read %d bytes)%s",
		st1, after1.Upload, st2, after2.Upload, after2.UploadRead, errText(firstNonNil(err1, err2))), ok
}
