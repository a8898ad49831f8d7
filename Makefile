# forecasting-mrp — every target installs what it needs first (a fresh clone needs only python3.11).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test dev bench lint dbt-build docs db-start db-stop clean install peers

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24" "setuptools>=77" wheel
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)  ## install, start PostgreSQL, generate the demo factory, run every asset, print a summary
	$(BIN)/fmrp demo

test: $(STAMP) peers  ## the whole test suite on a real PostgreSQL
	$(BIN)/python -m pytest

peers:  ## servers the tests talk to on loopback: OpenSSH's sshd (SFTP), dovecot (IMAP); Debian packages, as root
	@test -x /usr/sbin/sshd && test -x /usr/sbin/dovecot || \
		{ test "$$(id -u)" = 0 || { echo "make peers: run as root, or: sudo apt-get install openssh-server dovecot-imapd" >&2; exit 1; }; \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server dovecot-imapd; }

dev: $(STAMP)  ## Dagster UI and daemon on http://127.0.0.1:3000
	$(BIN)/fmrp dev

bench: $(STAMP) peers  ## speed benchmarks; results go to docs/benchmarks.md by hand
	$(BIN)/python -m tests.benchmarks

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy fmrp ingestion orchestration mrp

dbt-build: $(STAMP)  ## dbt build on the warehouse, outside Dagster
	$(BIN)/fmrp dbt build

docs: $(STAMP)  ## dbt docs on http://127.0.0.1:8080
	$(BIN)/fmrp dbt docs generate
	$(BIN)/fmrp dbt docs serve --port 8080 --host 127.0.0.1

db-start: $(STAMP)
	$(BIN)/fmrp db start

db-stop: $(STAMP)
	$(BIN)/fmrp db stop

clean:  ## stop the embedded PostgreSQL and delete all local state (.data)
	-test -x $(BIN)/fmrp && $(BIN)/fmrp db stop
	rm -rf .data
