# VStore: `make run` sets everything up and serves the demo; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

.PHONY: run test lint fmt bench lock sysdeps shell clean

$(INSTALLED): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "$$(grep -E '^uv==' requirements.lock)"
	$(VENV)/bin/uv pip sync --python $(PY) --quiet requirements.lock
	$(VENV)/bin/uv pip install --python $(PY) --quiet --no-deps -e .
	@touch $@

sysdeps:
	@bash scripts/system-deps.sh

run: $(INSTALLED) sysdeps
	$(PY) -m config.stack run

test: $(INSTALLED) sysdeps
	$(PY) -m config.stack test $(ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

fmt: $(INSTALLED)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(INSTALLED) sysdeps
	@shopt -s nullglob; for b in bench/*.py; do echo "== $$b"; $(PY) -m config.stack exec -- $(PY) $$b || exit 1; done

shell: $(INSTALLED)
	$(PY) -m config.stack exec -- $(PY) manage.py shell

# Re-pin every dependency from requirements.in (needs the package index).
lock: $(INSTALLED)
	$(VENV)/bin/uv pip compile requirements.in -o requirements.lock --python-version 3.11 --quiet --no-header
	@sed -i '1i # Made by `make lock` (uv pip compile requirements.in). Do not edit by hand.' requirements.lock

clean:
	rm -rf $(VENV) var
