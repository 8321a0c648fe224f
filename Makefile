# comply: the whole test suite is `make test`.
#
# The S3 tests run against a real MinIO server. `make test` builds the
# pinned MinIO from the Go module proxy once (about 7 minutes on 2 cores)
# into a cache directory and reuses it; the tests start and stop it.

MINIO_VERSION ?= v0.0.0-20260212201848-7aac2a2c5b7c
TOOLS         ?= $(HOME)/.cache/comply-tools
export COMPLY_MINIO_BIN ?= $(TOOLS)/minio

GO ?= go

.PHONY: test vet unit minio bench demo build fuzz

test: minio vet
	$(GO) test -count=1 -timeout 30m ./...

vet:
	$(GO) vet ./...

# unit runs the tests that need nothing but Go (the S3 tests skip).
unit:
	$(GO) test ./...

minio: $(COMPLY_MINIO_BIN)

$(COMPLY_MINIO_BIN):
	@echo "building MinIO $(MINIO_VERSION) into $(TOOLS) (once; several minutes)"
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) $(GO) install github.com/minio/minio@$(MINIO_VERSION)

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
