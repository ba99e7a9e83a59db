# gowsgi: make serve / make test on a fresh Debian 12 machine.
# deps installs only what is missing; build, serve and test depend on it.

export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
# Debian packages the build needs, and those the samples need to run
# (docker/Dockerfile installs the same; docker/dockerfile_test.go checks).
BUILD_PACKAGES := gcc pkg-config python3-dev
RUN_PACKAGES := python3-flask python3-pyramid python3-django
DEB_PACKAGES := $(BUILD_PACKAGES) $(RUN_PACKAGES)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := bin/gowsgi

.PHONY: deps build serve test fuzz bench vet fmt-check clean

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v $(GO) >/dev/null || { echo "Go is not installed (expected at /usr/local/go)"; exit 1; }

build: deps
	$(GO) build -o $(BIN) ./cmd/gowsgi

serve: build
	$(BIN) serve --bind 127.0.0.1:8000 --chdir pyapps flask_app:app

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet: deps
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Fuzz targets that make test runs briefly; longer: make fuzz FUZZTIME=10m
FUZZ_TARGETS := FuzzParseRequest FuzzChunked
FUZZTIME ?= 30s
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

test: build fmt-check vet
	$(GO) test -race -count=1 -timeout 12m ./...
	# allocation counts need a build without the race detector
	$(GO) test -count=1 -run 'AllocatesNothing' ./httpcore ./wsgi
	$(MAKE) --no-print-directory fuzz

fuzz:
	@for f in $(FUZZ_TARGETS); do \
		$(GO) test -run='^$$' -fuzz="^$$f\$$" -fuzztime=$(FUZZTIME) ./httpcore || exit 1; \
	done

# The benchmark against gunicorn, uWSGI, waitress and a net/http ceiling;
# not part of make test. Installs the peers it needs first.
bench: build
	bash bench/deps.sh
	$(GO) run ./bench $(BENCHFLAGS)

clean:
	rm -rf bin
