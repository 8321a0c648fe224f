# comply: the whole test suite is `make test`.
#
# The S3 tests run against a real MinIO server. `make test` builds the
# pinned MinIO from the Go module proxy once (about 7 minutes on 2 cores)
# into a cache directory and reuses it; the tests start and stop it.

MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
TOOLS         ?= $(HOME)/.cache/comply-tools
export COMPLY_MINIO_BIN ?= $(TOOLS)/minio

GO ?= go

# SDK is the nested module of the tests that drive package llm and the
# proxy with the OpenAI, Anthropic and LangChain SDKs; it keeps those SDKs
# out of comply's own go.mod.
SDK ?= integration/sdk

# PLATFORMS are the systems every package and test must build for.
PLATFORMS ?= linux darwin windows

# DUCKDB is the npm package whose DuckDB reads the Parquet export in the
# tests of package export (export/duckdb_test.go).
DUCKDB ?= integration/duckdb

.PHONY: test vet portable unit minio duckdb otelnode bench demo build fuzz

test: minio portable otelnode duckdb
	$(GO) test -count=1 -timeout 30m ./...
	cd $(SDK) && $(GO) test -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...
	cd $(SDK) && $(GO) vet ./...

# portable builds and vets both modules (tests included) for each of
# PLATFORMS, and checks that go.mod and go.sum are tidy in both.
portable:
	@for os in $(PLATFORMS); do \
	  for dir in . $(SDK); do \
	    echo "GOOS=$$os: build and vet $$dir"; \
	    (cd $$dir && GOOS=$$os $(GO) build ./... && GOOS=$$os $(GO) vet ./...) || exit 1; \
	  done; \
	done
	$(GO) mod tidy -diff
	cd $(SDK) && $(GO) mod tidy -diff

# unit runs the tests that need nothing but Go (the S3 tests skip).
unit:
	$(GO) test ./...
	cd $(SDK) && $(GO) test ./...

minio: $(COMPLY_MINIO_BIN)

# otelnode installs the pinned npm packages of the OTLP test with real
# GenAI instrumentations (integration/sdk/otelnode), needs node and npm.
OTELNODE = $(SDK)/otelnode
otelnode: $(OTELNODE)/node_modules/.package-lock.json

$(OTELNODE)/node_modules/.package-lock.json: $(OTELNODE)/package-lock.json
	cd $(OTELNODE) && npm ci --no-audit --no-fund

$(COMPLY_MINIO_BIN):
	@echo "building MinIO $(MINIO_VERSION) into $(TOOLS) (once; several minutes)"
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/minio/minio@$(MINIO_VERSION)

# duckdb installs the pinned @duckdb/node-api (package-lock.json) once.
duckdb: $(DUCKDB)/node_modules/.package-lock.json

$(DUCKDB)/node_modules/.package-lock.json: $(DUCKDB)/package-lock.json
	cd $(DUCKDB) && npm ci --no-audit --no-fund

build:
	$(GO) build -o comply ./cmd/comply

demo:
	$(GO) run ./cmd/comply demo

bench:
	$(GO) run ./cmd/comply bench

# fuzz runs every fuzz target for a short while.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list 'Fuzz.*' $$pkg 2>/dev/null | grep ^Fuzz); do \
	    echo "$$pkg $$f"; $(GO) test -run=^$$ -fuzz=^$$f$$ -fuzztime=15s $$pkg || exit 1; \
	  done; \
	done
