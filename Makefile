# Dailybot command runtime: the two commands that matter are `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARGS ?=

# A fake AWS environment: nothing may probe an address off this machine.
export AWS_DEFAULT_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export AWS_SESSION_TOKEN ?= testing
export AWS_EC2_METADATA_DISABLED := true
export POWERTOOLS_TRACE_DISABLED ?= true
export POWERTOOLS_DEV ?= false

.PHONY: setup run test lint typecheck pytest browser bench soak package sync jobs clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

setup: $(STAMP)

run: $(STAMP)
	$(PY) -m devstack $(ARGS)

lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check app.py chalicelib emulator infra devstack benchmarks soak testkit tests

typecheck: $(STAMP)
	$(PY) -m mypy --strict app.py chalicelib emulator infra devstack benchmarks soak testkit

# The browser tests drive Debian's Chromium (Playwright's own download is unreachable here).
# Installed when missing and apt-get can (root, as in CI); otherwise those tests skip, or fail
# under CI=true.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "installing chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi
	@[ -x $(CHROMIUM) ] || echo "no $(CHROMIUM) and no way to install it: the browser tests skip"

# Three workers on two cores: most tests wait on processes they start (the emulator,
# `chalice local`, moto's server), so the suite runs in about half the time.
pytest: $(STAMP) browser
	$(PY) -m pytest -n 3 --cov --cov-report=term --cov-fail-under=90 $(ARGS)

package: $(STAMP)
	$(PY) -m infra.package $(ARGS)

test: lint typecheck package pytest

bench: $(STAMP)
	$(PY) -m benchmarks $(ARGS)

# Minutes of load, duplicates, platform faults, crashes and bad input against the local stack
# (flags: make soak ARGS="--help"); exits non-zero when a row of its table falls short.
soak: $(STAMP)
	$(PY) -m soak $(ARGS)

sync: $(STAMP)
	$(PY) app.py sync $(ARGS)

# The deferred jobs' dead-letter queue: `make jobs`, `make jobs ARGS="--replay ID"`.
jobs: $(STAMP)
	$(PY) app.py jobs $(ARGS)

clean:
	rm -rf $(VENV) build .local .mypy_cache .ruff_cache .pytest_cache .coverage
