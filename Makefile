# gowsgi: make serve / make test on a fresh Debian 12 machine.
# deps installs only what is missing; build, serve and test depend on it.

export PATH := /usr/local/go/bin:$(PATH)
GO ?= go
# Debian packages the build needs, and those the samples need to run
# (docker/Dockerfile installs the same; docker/dockerfile_test.go checks).
BUILD_PACKAGES := gcc pkg-config python3-dev
RUN_PACKAGES := python3-flask python3-pyramid python3-django python3-falcon python3-bottle
# Packages only the tests need (a virtualenv made with python3 -m venv).
TEST_PACKAGES := python3-venv
DEB_PACKAGES := $(BUILD_PACKAGES) $(RUN_PACKAGES) $(TEST_PACKAGES)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
BIN := bin/gowsgi

# Another CPython than Debian's: make build PYTHON=/path/to/python3.X, or
# PKG_CONFIG_PATH=DIR with its python3-embed.pc (pyenv: PREFIX/lib/pkgconfig).
# The binary then records that interpreter's library directory (rpath) and
# prefix (PyConfig.home), so it runs with no LD_LIBRARY_PATH or PYTHONHOME.
ifneq ($(PYTHON),)
override PKG_CONFIG_PATH := $(shell $(PYTHON) -c 'import sysconfig; print(sysconfig.get_config_var("LIBPC"))')$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))
endif
ifneq ($(PKG_CONFIG_PATH),)
export PKG_CONFIG_PATH
python_embed = $(shell PKG_CONFIG_PATH='$(PKG_CONFIG_PATH)' pkg-config --variable=$(1) python3-embed)
export CGO_LDFLAGS := $(strip $(CGO_LDFLAGS) -Wl,-rpath,$(call python_embed,libdir))
export GOFLAGS := $(strip $(GOFLAGS) -ldflags=-X=github.com/gowsgi/gowsgi/wsgi.pythonHome=$(call python_embed,prefix))
endif

.PHONY: deps build serve test test-matrix wheel fuzz bench vet fmt-check clean

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

# pip-installable wheels: dist/gowsgi-VERSION-cpXY-cpXY-linux_x86_64.whl, one
# per CPython minor version (Debian's 3.11 and each pyenv 3.12 and 3.13
# found), or only PYTHON's: make wheel PYTHON=/path/to/python3.X
wheel: deps
	@MAKE='$(MAKE)' bash .ci/wheels.sh $(PYTHON)

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
	# Debian's wheel, which go test installs into a venv and serves from
	# (the matrix below builds and checks the other Pythons')
	$(MAKE) --no-print-directory wheel PYTHON=/usr/bin/python3
	$(GO) test -race -count=1 -timeout 12m ./...
	# allocation counts need a build without the race detector
	$(GO) test -count=1 -run 'AllocatesNothing' ./httpcore ./wsgi
	$(MAKE) --no-print-directory fuzz
	# the other CPython builds found (about 40 s each); the system's is above
	@MAKE='$(MAKE)' GO='$(GO)' MATRIX_SYSTEM=0 bash .ci/python-matrix.sh

# gowsgi built against Debian's CPython and each other build found (pyenv's
# 3.12 and 3.13), each running the protocol and process tests; a version
# not found is reported as skipped.
test-matrix: deps
	@MAKE='$(MAKE)' GO='$(GO)' bash .ci/python-matrix.sh

fuzz:
	@for f in $(FUZZ_TARGETS); do \
		$(GO) test -run='^$$' -fuzz="^$$f\$$" -fuzztime=$(FUZZTIME) ./httpcore || exit 1; \
	done

# The benchmark: CPU per request and req/s against gunicorn, uWSGI,
# waitress, nginx and a net/http ceiling, at 1 worker and at one per core,
# and at light load; not part of make test. Installs the peers it needs
# first. A short run: make bench BENCHFLAGS="-duration 3s -warmup 1s"
bench: build
	bash bench/deps.sh
	$(GO) run ./bench $(BENCHFLAGS)

# The stress and fault suite (stress/): soak, slowloris, idle flood,
# garbage, large bodies, faults, reload/stop and client disconnects at full
# scale against bin/gowsgi, one table row each; not part of make test,
# whose go test ./... runs its ~30 s smoke version (TestSmoke). Some:
# make stress STRESSFLAGS='-only soak,garbage'
.PHONY: stress
stress: build
	$(GO) run ./stress -bin $(BIN) $(STRESSFLAGS)

clean:
	rm -rf bin build dist
