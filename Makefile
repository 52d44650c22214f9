# Everything a new machine needs is installed by the targets themselves (Debian, root or sudo).
SWIFT        ?= swift
APT_PACKAGES := libevent-dev libhttp-parser-dev libwslay-dev libhiredis-dev redis-server pkg-config python3 curl
URL          ?= http://127.0.0.1:7474
PORT         ?= 7474
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

BENCH_PACKAGES := nginx libnginx-mod-nchan redis-server

.PHONY: all deps bench-deps build release run test unit-test test-hardening fuzz fuzz-smoke compat compat-local bench bench-smoke clean

all: build

## deps: install the system libraries and the test runner if they are missing
deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@python3 -c 'import pytest' 2>/dev/null || python3 -m pip install -q pytest

## bench-deps: what `make bench` needs on top of deps: Nchan (nginx + module) to compare against
bench-deps: deps
	@missing=""; for p in $(BENCH_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@# Debian starts nginx on :80 when it installs it; the benchmark runs its own instances.
	@$(SUDO) systemctl disable --now nginx >/dev/null 2>&1 || $(SUDO) service nginx stop >/dev/null 2>&1 || true

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## run: the server on :7474 (PORT) with the in-memory backend
run: release
	.build/release/firehose server --port $(PORT)

## test: unit and integration tests, the compat suite against freshly started servers, and a
## short smoke run of every firehose-bench mode (no timing asserted)
test: unit-test compat-local bench-smoke

unit-test: build
	$(SWIFT) test --skip HardeningSlowTests

## test-hardening: the costlier hardening checks (megabytes of traffic, memory measured)
test-hardening: build
	$(SWIFT) test --filter HardeningSlowTests

## fuzz: libFuzzer on the pure parsers (fuzz/targets), FUZZ_SECONDS (default 60) per target from the
## seed corpus in fuzz/corpus; prints executions per target and fails on a crash
FUZZ_SECONDS ?= 60
fuzz:
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh

## fuzz-smoke: the same for a few seconds per target (CI)
fuzz-smoke:
	FUZZ_SECONDS=5 fuzz/run.sh

## compat-local: the whole compat suite against freshly started servers: memory backend; redis
## backend; two redis nodes (publishing on one, subscribing on the other)
compat-local: build
	compat/run-local.sh .build/debug/firehose
	COMPAT_BACKEND=redis compat/run-local.sh .build/debug/firehose
	COMPAT_BACKEND=redis COMPAT_NODES=2 compat/run-local.sh .build/debug/firehose

## compat: run the compat suite against any running Firehose server (URL=http://host:port)
compat: deps
	python3 -m pytest compat -q --url $(URL)

bench-smoke: build
	bench/smoke.sh .build/debug

## bench: the benchmark matrix (ours memory/redis vs Nchan memory/redis, release build, loopback);
## prints the tables and writes bench/results/latest.md. About 10 minutes.
bench: bench-deps release
	python3 bench/matrix.py

clean:
	rm -rf .build
