// Package docker holds the container files; this test keeps them in step
// with the Makefile, since no Docker engine runs where the tests do.
package docker

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

func read(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// makeVar returns the words of a "NAME := ..." line of the Makefile.
func makeVar(t *testing.T, makefile, name string) []string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + name + ` := (.*)$`).FindStringSubmatch(makefile)
	if m == nil {
		t.Fatalf("Makefile has no %s", name)
	}
	return strings.Fields(m[1])
}

// stages splits the Dockerfile into its build and run stages.
func stages(t *testing.T, dockerfile string) (build, run string) {
	t.Helper()
	parts := regexp.MustCompile(`(?m)^FROM `).Split(dockerfile, -1)
	if len(parts) != 3 {
		t.Fatalf("Dockerfile has %d stages, want 2 (build, run)", len(parts)-1)
	}
	return parts[1], parts[2]
}

func TestDockerfileMatchesMakefile(t *testing.T) {
	makefile := read(t, "../Makefile")
	dockerfile := read(t, "Dockerfile")
	build, run := stages(t, dockerfile)

	for _, p := range makeVar(t, makefile, "BUILD_PACKAGES") {
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(p) + `\b`).MatchString(build) {
			t.Errorf("the build stage does not install %s, which make deps installs to build", p)
		}
	}
	for _, p := range makeVar(t, makefile, "RUN_PACKAGES") {
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(p) + `\b`).MatchString(run) {
			t.Errorf("the run stage does not install %s, which the samples need", p)
		}
	}
	if !strings.Contains(makefile, "$(GO) build -o $(BIN) ./cmd/gowsgi") || makeVar(t, makefile, "BIN")[0] != "bin/gowsgi" {
		t.Errorf("the Makefile's build command changed; update this test and the Dockerfile together")
	}
	if !strings.Contains(build, "go build -o bin/gowsgi ./cmd/gowsgi") {
		t.Errorf("the build stage does not build as make build does (go build -o bin/gowsgi ./cmd/gowsgi)")
	}
	goMod := read(t, "../go.mod")
	goVersion := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(goMod)
	if goVersion == nil || !strings.Contains(build, "golang:"+goVersion[1]+"-bookworm") {
		t.Errorf("the build stage's Go image is not golang:%v-bookworm (go.mod's version on Debian 12)", goVersion)
	}
	if !strings.Contains(run, "debian:12-slim") {
		t.Errorf("the run stage is not debian:12-slim")
	}
	if !regexp.MustCompile(`(?m)^USER [a-z]`).MatchString(run) {
		t.Errorf("the run stage does not switch to a non-root user")
	}
	if !strings.Contains(run, "HEALTHCHECK") {
		t.Errorf("the run stage has no HEALTHCHECK")
	}
}

func TestComposeServesFlaskSample(t *testing.T) {
	compose := read(t, "compose.yaml")
	dockerfile := read(t, "Dockerfile")
	if !strings.Contains(compose, "dockerfile: docker/Dockerfile") {
		t.Errorf("compose.yaml does not build docker/Dockerfile")
	}
	if !strings.Contains(dockerfile, `"flask_app:app"`) {
		t.Errorf("the image does not serve the Flask sample by default")
	}
}
