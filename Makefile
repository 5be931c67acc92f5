# deferment desk — see README.md.
SWIFT ?= swift
ROOT ?= demo
PY ?= python3

.PHONY: demo test deps deps-test build release bench clean

# Debian packages the build needs (SQLite headers for GRDB, libxlsxwriter for every workbook,
# ISA-L's DEFLATE and zlib for sealed pages; iconv is in glibc).
DEB_BUILD := libsqlite3-dev sqlite3 libxlsxwriter-dev libisal-dev zlib1g-dev pkg-config
# Debian packages the tests need: a real browser and its driver, a CJK font for screenshots, and
# msmtp (the reference sendmail-compatible program; the tests run a real SMTP server on loopback),
# and LibreOffice's headless Calc, the second independent reader of every workbook.
DEB_TEST := chromium chromium-driver fonts-wqy-microhei msmtp libreoffice-calc-nogui
# Python packages the tests use as independent readers/writers, to drive the browser, and as the SMTP server.
PIP_TEST := openpyxl selenium aiosmtpd
# The site benchmark's reference.
DEB_BENCH := hugo

# Installs the Debian packages named in $(PKGS) that are missing.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

deps:
	$(call apt_install,$(DEB_BUILD))

deps-test: deps
	$(call apt_install,$(DEB_TEST))
	@$(PY) -c "import openpyxl, selenium, aiosmtpd" 2>/dev/null || $(PY) -m pip install -q $(PIP_TEST)

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

## make bench: intake against sqlite3's .import, the site against hugo, decision workbooks against openpyxl and XlsxWriter (see bench/README.md).
bench: deps release
	$(call apt_install,$(DEB_BENCH))
	@$(PY) -c "import openpyxl, xlsxwriter" 2>/dev/null || $(PY) -m pip install -q openpyxl xlsxwriter
	$(PY) bench/intake_bench.py --rows $${ROWS:-1000000}
	$(PY) bench/site_bench.py
	$(PY) bench/decision_bench.py

clean:
	rm -rf .build demo bench/out
