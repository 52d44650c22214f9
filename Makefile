# Everything a new machine needs is installed by the targets themselves (Debian, root or sudo).
SWIFT        ?= swift
APT_PACKAGES := libevent-dev libhttp-parser-dev libwslay-dev libhiredis-dev redis-server pkg-config python3 curl
URL          ?= http://127.0.0.1:7474
PORT         ?= 7474
SUDO         := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

BENCH_PACKAGES := nginx libnginx-mod-nchan redis-server
BROWSER_PACKAGES := chromium chromium-driver

# Installation (make install PREFIX=/usr/local DESTDIR=...). Installed and packaged binaries link the
# Swift runtime statically, so they run without a Swift toolchain; they are built in their own
# scratch path so that switching between these and `make release` rebuilds nothing.
PREFIX           ?= /usr/local
BINDIR           ?= $(PREFIX)/bin
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
STATIC_SCRATCH   ?= .build-static

.PHONY: all deps bench-deps browser-deps build release run test unit-test test-hardening fuzz fuzz-smoke compat compat-local test-browser bench bench-smoke clean
.PHONY: release-static install install-systemd uninstall deb test-deb
.PHONY: test-redis-ha

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

## browser-deps: what `make test-browser` needs on top of deps: Debian's Chromium and its driver,
## and Selenium (its driver manager is kept offline: the suite passes /usr/bin/chromedriver)
browser-deps: deps
	@missing=""; for p in $(BROWSER_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
	@python3 -c 'import selenium' 2>/dev/null || python3 -m pip install -q selenium

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## run: the server on :7474 (PORT) with the in-memory backend
run: release
	.build/release/firehose server --port $(PORT)

## test: unit and integration tests, the compat suite against freshly started servers, a short
## smoke run of every firehose-bench mode (no timing asserted), and the real-browser tests
test: unit-test compat-local bench-smoke test-browser

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

## test-browser: firehose.js, plain EventSource and the demo page in headless Chromium against a
## fresh server (browser/run-local.sh); under 3 minutes
test-browser: browser-deps build
	browser/run-local.sh .build/debug

bench-smoke: build
	bench/smoke.sh .build/debug

## test-redis-ha: a real Redis failover: master, one replica and three sentinels (Debian's
## redis-sentinel, installed if missing) on free loopback ports under two nodes that find the master
## through the sentinels; the master is SIGKILLed mid-stream (Tests/ha). About 70 s; -s prints
## the measured failover times and message counts. CI (.ci/run) runs it.
test-redis-ha: deps build
	@dpkg -s redis-sentinel >/dev/null 2>&1 || { \
	  echo "installing: redis-sentinel"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq redis-sentinel; \
	  $(SUDO) systemctl disable --now redis-sentinel >/dev/null 2>&1 || $(SUDO) service redis-sentinel stop >/dev/null 2>&1 || true; }
	FIREHOSE_BIN=.build/debug/firehose python3 -m pytest Tests/ha -q -s -p no:cacheprovider

## bench: the benchmark matrix (ours memory/redis vs Nchan memory/redis, release build, loopback);
## prints the tables and writes bench/results/latest.md. About 10 minutes.
bench: bench-deps release
	python3 bench/matrix.py

clean:
	rm -rf .build

## release-static: release binaries with the Swift runtime linked in (what install and deb ship)
release-static: deps
	$(SWIFT) build -c release --static-swift-stdlib --scratch-path $(STATIC_SCRATCH)

## install: firehose and firehose-bench into $(DESTDIR)$(BINDIR) (PREFIX=/usr/local by default)
install: release-static
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(STATIC_SCRATCH)/release/firehose $(STATIC_SCRATCH)/release/firehose-bench $(DESTDIR)$(BINDIR)/

## install-systemd: install, plus the units into $(SYSTEMD_UNIT_DIR) (running $(BINDIR)/firehose)
## and /etc/default/firehose unless it exists; reloads systemd when it is running
install-systemd: install
	install -d $(DESTDIR)$(SYSTEMD_UNIT_DIR)
	for unit in firehose.service firehose@.service; do \
	  sed 's#/usr/bin/firehose#$(BINDIR)/firehose#' contrib/systemd/$$unit > $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$unit && \
	  chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/$$unit || exit 1; \
	done
	[ -e $(DESTDIR)/etc/default/firehose ] || install -D -m 0644 contrib/firehose.env $(DESTDIR)/etc/default/firehose
	if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

## uninstall: what install and install-systemd put in place, except /etc/default/firehose (yours)
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/firehose $(DESTDIR)$(BINDIR)/firehose-bench
	rm -f $(DESTDIR)$(SYSTEMD_UNIT_DIR)/firehose.service $(DESTDIR)$(SYSTEMD_UNIT_DIR)/firehose@.service

## deb: dist/firehose_<VERSION>_<arch>.deb (dpkg-deb only; binaries, units, /etc/default/firehose)
deb: release-static
	contrib/build-deb.sh $(STATIC_SCRATCH)/release dist

## test-deb: build the package (make deb), install it here, serve and read one message from the
## installed binary, purge it and check it is gone; prints how long it took (needs root or sudo)
test-deb:
	contrib/test-deb.sh
