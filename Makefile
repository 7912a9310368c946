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

## lint: gofmt, then staticcheck 2026.2.2 (module v0.8.2), pinned, fetched through the Go module proxy.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
lint:
	@unformatted="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	$(GO) run $(STATICCHECK) ./...

## test: every test, with the race detector, after vet and lint (what CI runs).
test: vet lint
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

## Benchmarks: not part of `make test` (which runs each harness's smoke test
## at a tiny size). Each writes bench/results/<harness>.md, .json and PNG
## charts; see bench/README.md. Extra flags: make bench-memory BENCH_ARGS=...
BENCH_BIN  ?= bench/.bin
BENCH_OUT  ?= bench/results
BENCH_ARGS ?=

.PHONY: bench-build bench-dataplane bench-memory bench-controlplane

## bench-build: build the binaries the benchmarks run (not race-enabled).
bench-build:
	$(GO) build -o $(BENCH_BIN)/ ./cmd/lateen-pilot ./cmd/lateen-proxy ./cmd/lateen-bench

## bench-dataplane: Lateen's proxy pair against nginx, HAProxy and Go ReverseProxy pairs.
bench-dataplane: bench-build
	bash bench/install-peers.sh
	$(BENCH_BIN)/lateen-bench dataplane --bin-dir $(BENCH_BIN) --out $(BENCH_OUT) $(BENCH_ARGS)

## bench-memory: one sidecar's memory with 10 to 5,000 services, with and without a Sidecar scope.
bench-memory: bench-build
	$(BENCH_BIN)/lateen-bench memory --bin-dir $(BENCH_BIN) --out $(BENCH_OUT) $(BENCH_ARGS)

## bench-controlplane: pilot under 100, 500 and 1,000 simulated proxies.
bench-controlplane: bench-build
	$(BENCH_BIN)/lateen-bench controlplane --bin-dir $(BENCH_BIN) --out $(BENCH_OUT) $(BENCH_ARGS)
