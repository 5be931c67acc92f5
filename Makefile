# deferment desk — see README.md.
SWIFT ?= swift
ROOT ?= demo
PY ?= python3

.PHONY: demo test deps deps-test build release bench clean

# Debian packages the build needs (SQLite headers for GRDB; iconv is in glibc).
DEB_BUILD := libsqlite3-dev sqlite3
# Python packages the tests use as independent readers/writers.
PIP_TEST := openpyxl

deps:
	@missing=""; for p in $(DEB_BUILD); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi

deps-test: deps
	@$(PY) -c "import openpyxl" 2>/dev/null || $(PY) -m pip install -q $(PIP_TEST)

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

## make demo: a fresh demo root under ./demo, the sample rosters of seeds/ run through it.
demo: build
	$$($(SWIFT) build --show-bin-path)/deferment demo --root $(ROOT) --seeds seeds

## make test: every test (unit, file, crash-safety, lock), as CI runs them.
test: deps-test
	$(SWIFT) build --build-tests
	DEFERMENT_BIN=$$($(SWIFT) build --show-bin-path)/deferment $(SWIFT) test --skip-build

## make bench: the million-row intake benchmark against sqlite3's .import (see bench/README.md).
bench: deps release
	$(PY) bench/intake_bench.py --rows $${ROWS:-1000000}

clean:
	rm -rf .build demo bench/out
