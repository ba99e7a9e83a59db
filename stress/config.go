package main

import "time"

// config holds the scale of every scenario; fullConfig is the issue's,
// smokeConfig what go test runs in about 30 s.
type config struct {
	root, bin string

	// loadSlack is what every bound on a duration grows by because other
	// work shares the machine: none at full scale (make stress, measured on
	// a quiet machine), seconds for the smoke run, which go test runs beside
	// other packages' tests. Bounds that say "not before" never get it.
	loadSlack time.Duration
	// latencySlack is the same for the normal client's p99 under a
	// slowloris: small enough that a client starved until --header-timeout
	// still fails.
	latencySlack time.Duration

	soakRequests, soakWarmup, soakConns int

	slowConns        int
	slowInterval     time.Duration
	headerTimeout    int // seconds, for slowloris
	slowNormalSample int

	idleConns   int
	keepalive   int // seconds, for the idle flood
	maxConns    int // --max-connections for the flat-memory half
	idleNormals int

	garbageConns int

	uploadBytes, downloadBytes int64
	readPause                  time.Duration // slow reader: pause per 64 KiB read

	faultRounds int

	hups int

	disconnects int
}

func fullConfig() *config {
	return &config{
		soakRequests: 500_000, soakWarmup: 50_000, soakConns: 16,
		slowConns: 500, slowInterval: 2 * time.Second, headerTimeout: 10, slowNormalSample: 4000,
		idleConns: 5000, keepalive: 5, maxConns: 100, idleNormals: 500,
		garbageConns:  10_000,
		uploadBytes:   1 << 30,
		downloadBytes: 1 << 30,
		readPause:     time.Millisecond,
		faultRounds:   40,
		hups:          10,
		disconnects:   10_000,
	}
}

func smokeConfig() *config {
	return &config{
		soakRequests: 4000, soakWarmup: 1000, soakConns: 4,
		slowConns: 50, slowInterval: 2 * time.Second, headerTimeout: 3, slowNormalSample: 400,
		idleConns: 300, keepalive: 2, maxConns: 20, idleNormals: 50,
		garbageConns:  400,
		uploadBytes:   32 << 20,
		downloadBytes: 32 << 20,
		readPause:     200 * time.Microsecond,
		faultRounds:   4,
		hups:          2,
		disconnects:   300,
		loadSlack:     10 * time.Second,
		latencySlack:  time.Second,
	}
}
