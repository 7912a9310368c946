# Lateen's make targets. `make test` is what CI runs (through .ci/run).

GO        ?= go
GOFLAGS   ?=
TEST_TIMEOUT ?= 20m

.PHONY: all build test vet lint unit e2e golden clean

all: build

build:
	$(GO) build ./...

vet:
	$(GO) vet ./...

## test: every test, with the race detector (what CI runs).
test: vet
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./...

## unit: tests without the end-to-end suite.
unit:
	$(GO) test -race $$($(GO) list ./... | grep -v /test/e2e)

## e2e: only the end-to-end tests (they start real processes).
e2e:
	$(GO) test -race -timeout $(TEST_TIMEOUT) ./test/e2e/...

## golden: rewrite translation golden files after an intended change.
golden:
	$(GO) test ./internal/translate/... -update

clean:
	$(GO) clean -testcache
