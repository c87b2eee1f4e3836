# opsdash: two commands do all set-up on a fresh machine.
#   make run   - create .venv, install opsdash, build the store from sample_data/ if none exists, start the dashboard
#   make test  - create/update .venv with the dev extras and run every test
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8501
OPSDASH_DB ?= opsdash.duckdb
export OPSDASH_DB

BIN := $(VENV)/bin

.PHONY: run test store venv clean help chromium poppler java

help:
	@echo "make run   - set up and start the dashboard on the bundled sample data (http://localhost:$(PORT))"
	@echo "make test  - set up and run every test"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "opsdash needs Python >= 3.11; set PYTHON=/path/to/python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamps re-run the install whenever pyproject.toml changes.
$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@ $(VENV)/.installed-run

venv: $(VENV)/.installed-run

$(OPSDASH_DB): | $(VENV)/.installed-run
	$(BIN)/opsdash demo --db $(OPSDASH_DB)

store: $(OPSDASH_DB)

run: $(VENV)/.installed-run $(OPSDASH_DB) chromium
	$(BIN)/streamlit run app.py --server.port $(PORT) --server.address localhost

# Debian packages, installed when missing and this runs as root with apt-get: chromium prints review packs as
# PDF and drives the browser tests; poppler-utils (pdftoppm, pdftotext) lets the tests read those PDFs.
# Each says why before installing, and says what is missed when it cannot install.
CHROMIUM ?= /usr/bin/chromium
define apt_install
	@if [ -x $(1) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing the Debian package $(2) with apt-get: $(3) (skipped when $(1) exists or when not run as root)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(2) >/dev/null \
		|| (apt-get update >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(2) >/dev/null); \
	else \
		echo "not installing $(2) ($(1) is missing; only root with apt-get installs it): $(4)"; \
	fi
endef

chromium:
	$(call apt_install,$(CHROMIUM),chromium,opsdash prints review packs as PDF with it and the browser tests drive it,review packs come as HTML and Excel only - install chromium for PDF)

poppler:
	$(call apt_install,/usr/bin/pdftoppm,poppler-utils,the tests read the review packs' PDF pages with pdftoppm and pdftotext,the tests of PDF pages cannot run)

java:
	$(call apt_install,/usr/bin/java,default-jre-headless,the Spark engine's tests start Apache Spark in local mode and it runs on Java,the Spark tests cannot run)

# Every test in one run spread over pytest-xdist workers, each test module whole on one worker (--dist loadfile:
# a browser module starts its Streamlit server and chromium once). The browser modules go first (tests/conftest.py)
# and, waiting on pages much of the time, leave room for one worker more than the machine has cores (measured on
# 2 cores: 3 workers 508 s, 2 workers 600 s, 4 workers 622 s). The sample store is loaded once for all workers.
# The 25 slowest tests are listed at the end (where the suite's time goes, run by run).
# PYTEST_ARGS picks tests instead (one run, one process): make test PYTEST_ARGS=tests/test_sla.py
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')
test: $(VENV)/.installed-dev chromium poppler java
ifeq ($(strip $(PYTEST_ARGS)),)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

clean:
	rm -rf $(VENV) $(OPSDASH_DB) $(OPSDASH_DB).wal
