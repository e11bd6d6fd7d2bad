# supplywatch — the two commands are `make run` and `make test`.
SHELL := /bin/bash
GO ?= go
BIN := bin/supplywatch
CONFIG ?= deploy/local.yaml
SIMULATE ?= 1
GOFLAGS_TEST ?= -count=1 -timeout 40m -p 2
# A count, not a duration: with a duration, Go 1.26's fuzz coordinator can
# report its own deadline as a failure at the end (golang/go#75804, fixed
# in Go 1.27) on a loaded machine.
FUZZTIME ?= 20000x

# The version and revision the binary reports (supplywatch version,
# supplywatch_build_info).
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
REVISION ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X github.com/supplywatch/supplywatch/app.Version=$(VERSION) -X github.com/supplywatch/supplywatch/app.Revision=$(REVISION)

.PHONY: all deps web build image run test test-unit fuzz bench vet clean

all: build

WEB := console/web
WEB_SRC := $(shell find $(WEB)/src $(WEB)/index.html $(WEB)/vite.config.ts $(WEB)/tsconfig.json -path $(WEB)/src/gen -prune -o -type f -print 2>/dev/null) console/openapi.yaml

# Go modules, the web app's npm packages, and Debian's chromium for the
# browser tests. The embedded ClickHouse library is fetched (and checked
# against its pinned sha512) into ~/.cache/supplywatch on first start.
deps: $(WEB)/node_modules/.package-lock.json
	$(GO) mod download
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null; }
	@command -v podman >/dev/null 2>&1 || { \
	  echo "installing Debian's podman for the image test (deploy/)"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends podman >/dev/null; }

$(WEB)/node_modules/.package-lock.json: $(WEB)/package-lock.json
	cd $(WEB) && npm ci --no-audit --no-fund --loglevel=error

# The console's web bundle, embedded into the binary.
$(WEB)/dist/index.html: $(WEB)/node_modules/.package-lock.json $(WEB_SRC)
	cd $(WEB) && npm run build --silent

web: $(WEB)/dist/index.html

build: deps web
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/supplywatch

# The FROM scratch image (deploy/Containerfile) of a static binary, built
# offline with podman. deploy/Dockerfile builds the distroless image from
# source instead (docker build -f deploy/Dockerfile .).
IMAGE ?= supplywatch:$(VERSION)
image: deps web
	rm -rf var/image && mkdir -p var/image/bin
	CGO_ENABLED=0 $(GO) build -trimpath -tags timetzdata -ldflags "$(LDFLAGS)" -o var/image/bin/supplywatch-static ./cmd/supplywatch
	cp -r rules var/image/rules
	podman build -f deploy/Containerfile -t $(IMAGE) var/image

# Demo shared secrets of the cXML partners in deploy/partners.yaml.
DEMO_SECRETS := OFFICE_SUPPLIES_SECRET=demo-office COUPA_SUPPLIER_SECRET=demo-coupa PROMINATE_SECRET=demo-prominate ACME_HUB_SECRET=demo-hub

run: build
	mkdir -p var/b2b/inbox
	$(DEMO_SECRETS) $(BIN) run --demo --config $(CONFIG) $(if $(filter 1 true yes,$(SIMULATE)),--simulate)

vet:
	$(GO) vet ./...

test: build vet test-unit fuzz

# Helm, pinned, for the chart tests (deploy/): built once from its Go
# module into bin/, so that no test's timeout pays for building it.
HELM := bin/helm
$(HELM):
	GOBIN=$(CURDIR)/bin $(GO) install helm.sh/helm/v4/cmd/helm@v4.3.2

test-unit: $(HELM)
	CI=$${CI:-} $(GO) test $(GOFLAGS_TEST) ./...

# Brief runs of every fuzz target (one at a time: go test -fuzz takes one).
fuzz:
	@set -e; $(GO) list -f '{{.ImportPath}} {{.Dir}}' ./... | while read -r pkg dir; do \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "fuzz $$pkg $$f ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg > /tmp/supplywatch-fuzz.log 2>&1 || { cat /tmp/supplywatch-fuzz.log; exit 1; }; \
	  done; \
	done

# Figures as `name: value unit`: the data plane (collector, HTTP, OTLP,
# latency, RSS) from cmd/supplywatch-bench, then the Go benchmarks of the
# rules engine and the B2B tokenizers and mappers.
bench: build
	$(GO) run ./cmd/supplywatch-bench
	$(GO) test -run '^$$' -bench 'BenchmarkEngine' -benchtime 1x ./rules/ | ./scripts/benchfmt
	$(GO) test -run '^$$' -bench Timers -benchtime 1x ./rules/sla/slabench/ | ./scripts/benchfmt
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./b2b/x12/ ./b2b/edifact/ ./b2b/mapping/ ./b2b/intake/ | ./scripts/benchfmt
	$(GO) test -run 'Latency' -v ./alerts/slack/ | grep -E '^[a-z_0-9]+: '
	SUPPLYWATCH_BENCH_EVENTS=5000000 $(GO) test -run '^$$' -bench Dashboard -benchtime 1x -timeout 90m ./kpi/ | grep -E '^[a-z_0-9]+: '
	SUPPLYWATCH_BENCH_EVENTS=50000000 $(GO) test -run '^$$' -bench Dashboard -benchtime 1x -timeout 120m ./kpi/ | grep -E '^[a-z_0-9]+: '
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./console/ | ./scripts/benchfmt

clean:
	rm -rf bin var
