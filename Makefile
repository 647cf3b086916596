# grade — make targets. `make demo` and `make test` are all a new machine needs
# (after the Docker engine is up; .ci/run starts it when it is not).

GO            ?= go
GOLANGCI_LINT := github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0
BIN           := bin/grade
VERSION       ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT        ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
LDFLAGS       := -s -w -X main.version=$(VERSION) -X main.commit=$(COMMIT)

.PHONY: all build helpers build-embed release images engine2 engine2-down tools demo overview bench test unit fuzz lint fmt clean-engine

all: build

# CGO_ENABLED=0: a static Linux binary, which is also grade's helper in a
# container on the engine (grader/helper). Test binaries are helpers too.
export CGO_ENABLED := 0

build:
	$(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/grade

# A grade for macOS or Windows (or a dynamically linked one) cannot be the
# helper itself: it carries static Linux builds for both engine
# architectures, embedded (-tags embedhelper). GOOS/GOARCH pick the system:
# make build-embed GOOS=darwin GOARCH=arm64.
HELPERS := grader/engine/helperbin/grade-linux-amd64 grader/engine/helperbin/grade-linux-arm64
helpers:
	for a in amd64 arm64; do \
	  GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o grader/engine/helperbin/grade-linux-$$a ./cmd/grade || exit 1; \
	done

build-embed: helpers
	$(GO) build -tags embedhelper -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)$(if $(filter windows,$(GOOS)),.exe) ./cmd/grade

# Every base image the bundled scenarios and samples use: pulled where a
# registry answers, otherwise built from Debian packages. Quick when present.
images:
	images/prepare.sh

# A second Docker engine on this machine that is not on grade's machine: its
# own network namespace, /tmp and hostname, at tcp://10.213.0.2:2375
# (eval "$(.ci/engine2 env)" points docker and grade at it), with the base
# images loaded from the first engine. Quick when it runs. Needs root.
engine2: images
	.ci/engine2 up

# Stop the second engine; its data-root, and so its images, stays for the
# next `make engine2` (.ci/engine2 down --purge removes it).
engine2-down:
	.ci/engine2 down

# A release snapshot with GoReleaser (.goreleaser.yaml), offline: binaries
# for linux, darwin and windows on amd64 and arm64, each embedding the
# helper, archived with checksums, in dist/. Nothing is published.
GORELEASER := github.com/goreleaser/goreleaser/v2@v2.17.0
release:
	GRADE_COMMIT=$(COMMIT) $(GO) run $(GORELEASER) release --snapshot --clean

# Grade a representative class (submissions/demo.jobs: every scenario's
# correct submission and a typical mistake, and every hostile sample) and
# print the score table; `make demo ALL=1` (or `bin/grade --all`) grades every
# sample. The class holds broken submissions on purpose, so grade exits 1
# (graded, something failed); anything else is an error.
DEMO_JOBS = $(if $(ALL),,$(shell sed -e '/^\#/d' -e '/^$$/d' -e 's/^/--job /' submissions/demo.jobs))
demo: images build
	@./$(BIN) --all $(DEMO_JOBS); status=$$?; \
	if [ $$status -gt 1 ]; then echo "grade exited $$status" >&2; exit $$status; fi

# Tools the tests use: xmllint validates JUnit output against its XSD.
tools:
	@command -v xmllint >/dev/null 2>&1 || { \
	  echo "installing libxml2-utils (xmllint)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q libxml2-utils; }

# The instructor's HTML overview of the samples, and a screenshot of it taken
# by a real headless browser (Debian's chromium): out/index.html, out/overview.png.
overview: images build
	@command -v chromium >/dev/null 2>&1 || { \
	  DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }
	@./$(BIN) --all --quiet --report out/index.html -o csv >/dev/null; status=$$?; \
	if [ $$status -gt 1 ]; then exit $$status; fi
	chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1300,1500 \
	  --screenshot=$(CURDIR)/out/overview.png file://$(CURDIR)/out/index.html 2>/dev/null
	@echo "wrote out/index.html and out/overview.png"

# The benchmark (not a test): a generated class graded with --jobs 1 and 2
# against the floor of the same engine work; prints a table and writes
# bench/results.json. N=30 copies by default: make bench N=10.
N ?= 30
bench: images build
	$(GO) run ./bench -n $(N) -grade $(BIN) -out bench/results.json

# Unit and integration tests. Integration tests need the Docker engine and
# the base images (make images); without an engine they fail, never skip.
# -p 1: packages share the engine, and each integration test ends by
# asserting that nothing grade made is left on it.
# The second engine (make engine2; it needs root) takes part: TestSamples
# grades its subset there (every scenario, every check kind; see subset in
# grader/integration_test.go) with the classic builder (the local engine
# grades with BuildKit, the default), and the tests of ENGINE2_TESTS run
# there again. `make test ENGINE2=` leaves it out (a CI job whose engine is
# already a dind service, not on the job's machine).
ENGINE2 ?= tcp://10.213.0.2:2375
ENGINE2_TESTS := TestHostUnreachable|TestSandbox|TestCommands|TestRegistryStep|TestDoctor|TestEmbeddedHelper|TestBuildKit
test: images tools $(if $(ENGINE2),engine2)
	GO=$(GO) $(GO) run ./bench/slowest -count=1 -p 1 -timeout 60m ./...
	$(if $(ENGINE2),DOCKER_HOST=$(ENGINE2) GRADE_BUILDER=classic GRADE_TEST_SAMPLES=subset $(GO) test -count=1 -timeout 30m -run '^TestSamples$$' ./grader)
	$(if $(ENGINE2),DOCKER_HOST=$(ENGINE2) $(GO) test -count=1 -p 1 -timeout 15m -run '^($(ENGINE2_TESTS))$$' ./grader/engine ./cmd/grade)

# Unit tests only: no Docker.
unit: tools
	$(GO) test -count=1 -short ./...

# Each fuzz target for a fixed short time (FUZZTIME=30s per target by
# default). What they find is kept under testdata/fuzz/ and replayed by
# `make test` from then on.
FUZZTIME ?= 30s
FUZZ_TARGETS := ./grader/scenario:FuzzParse ./grader/engine:FuzzDockerfile ./grader/engine:FuzzVetCompose
fuzz:
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "fuzz $$fn ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test $$pkg -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s || exit 1; \
	done

lint:
	test -z "$$(gofmt -l .)" || { gofmt -l .; exit 1; }
	$(GO) vet ./...
	$(GO) run $(GOLANGCI_LINT) run ./...

fmt:
	gofmt -w .

# Remove whatever grade runs left on the engine.
clean-engine: build
	./$(BIN) clean
