# factory: make help lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
TAGS      ?= sqlite_fts5
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin/factory
# Fuzz budgets are counts, not durations: with a duration, Go 1.26's fuzz
# coordinator can fail a clean run with "context deadline exceeded" at the
# deadline (golang/go#75804, fixed in Go 1.27). 50,000 inputs take 5 s for
# FuzzParse and 20-50 s for FuzzApply on 2 cores.
FUZZTIME  ?= 50000x
BENCHTIME ?= 1x
PKGS      := ./...

.PHONY: help build test unit e2e fuzz check bench demo lint deps clean attacks cross

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/factory (with SQLite FTS5)
	$(GO) build -tags '$(TAGS)' -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/factory

deps: ## install what the tests need: the e2e client and the fixtures' vitest (npm), bubblewrap and python3-pytest (Debian)
	@command -v bwrap >/dev/null || { echo "installing bubblewrap"; (apt-get update -qq && apt-get install -y -qq bubblewrap) >/dev/null || echo "warning: bubblewrap not installed; the bwrap isolation path will be skipped"; }
	@[ -d e2e/node_modules/@modelcontextprotocol/sdk ] || (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
	@[ -d examples/ts-stack/node_modules/vitest ] || (cd examples/ts-stack && npm ci --no-audit --no-fund --loglevel=error)
	@[ -x examples/node-vitest/node_modules/.bin/vitest ] || (cd examples/node-vitest && npm ci --no-audit --no-fund --loglevel=error)
	@/usr/bin/python3 -c 'import pytest' 2>/dev/null || { echo "installing python3-pytest"; (apt-get update -qq && apt-get install -y -qq python3-pytest) >/dev/null || echo "warning: python3-pytest not installed; the pytest fixture tests will fail"; }

test: deps build ## the whole suite: vet, cross-checks, unit and integration tests, end-to-end, fuzz, factory check
	$(GO) vet -tags '$(TAGS)' $(PKGS)
	$(MAKE) --no-print-directory cross
	FACTORY_BIN=$(CURDIR)/$(BIN) $(GO) test -tags '$(TAGS)' -count=1 -timeout 8m $(PKGS)
	$(GO) test -count=1 ./traces/   # the run log without FTS5: the LIKE fallback
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory check

# CGO_ENABLED=0: without cgo mattn/go-sqlite3 is a stub that fails at run
# time; the check is of types only, and a Mac user builds with cgo.
cross: ## type-check for macOS (arm64, amd64) and Windows (amd64): vet, build cmd/factory; run the macOS capture walk
	@for p in darwin/arm64 darwin/amd64 windows/amd64; do \
		echo "cross $$p"; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) vet $(PKGS) || exit 1; \
		GOOS=$${p%/*} GOARCH=$${p#*/} CGO_ENABLED=0 $(GO) build -o /dev/null ./cmd/factory || exit 1; \
	done
	@echo "cross: the macOS capture walk (ReadDir, not getdents) against git add -A, run here"
	$(GO) test -tags '$(TAGS) factory_portablewalk' -count=1 -run 'TestSnapshot|TestFastCopyCapture' ./sandbox/

check: build ## factory's own gates (factory.yaml): the unit tier in the sandbox, vet, the import rules
	$(BIN) check --log-level warn

unit: ## Go tests only
	$(GO) test -tags '$(TAGS)' -count=1 $(PKGS)

e2e: build ## end-to-end: the official MCP TypeScript SDK client against bin/factory
	cd e2e && FACTORY_BIN=$(CURDIR)/$(BIN) node --test --test-concurrency=1

fuzz: ## run each fuzz target for FUZZTIME inputs
	@for t in $$($(GO) test -list '^Fuzz' ./sandbox/patch/ 2>/dev/null | grep '^Fuzz'); do \
		echo "fuzz $$t for $(FUZZTIME)"; \
		$(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 2000x ./sandbox/patch/ || exit 1; \
	done

bench: build ## benchmarks against their references (native git, direct commands), then one markdown table of the ratios
	@mkdir -p bin
	set -o pipefail; $(GO) test -p 1 -tags '$(TAGS)' -run '^$$' -bench . -skip '^BenchmarkIngest$$' -benchtime $(BENCHTIME) -timeout 60m $(PKGS) | tee bin/bench.txt
	set -o pipefail; $(GO) test -tags '$(TAGS)' -run '^$$' -bench '^BenchmarkIngest$$' -benchtime 50000x ./traces | tee -a bin/bench.txt
	set -o pipefail; FACTORY_PERF_POWER=1 $(GO) test -tags '$(TAGS)' -count=1 -run '^(TestPerfCompareIdenticalTreesShowNoChange|TestPerfCompareBiasOnIdenticalCodeUnderLoad)$$' -v ./investigate/ | grep -E 'try|alarm|over all|ok|FAIL'
	@echo; $(GO) run ./internal/benchtable/cmd/benchtable bin/bench.txt

demo: build ## build and run the scripted demo on the embedded example workspace
	cd e2e && [ -d node_modules/@modelcontextprotocol/sdk ] || npm ci --no-audit --no-fund --loglevel=error
	FACTORY_BIN=$(CURDIR)/$(BIN) node e2e/demo.js

attacks: ## regenerate docs/ATTACKS.md, the adversarial suite's table, from the TestAttack functions
	$(GO) run ./internal/attacktest/table -o docs/ATTACKS.md .

lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "gofmt needed:"; echo "$$out"; exit 1; }
	$(GO) vet -tags '$(TAGS)' $(PKGS)

clean: ## remove build output
	rm -rf bin
