# VStore: `make run` sets everything up and serves the demo; `make test` runs the suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
INSTALLED := $(VENV)/.installed

# Compiled translations are build products: made from the committed .po files.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/django.po))

.PHONY: run test lint fmt bench lock sysdeps shell clean messages

$(INSTALLED): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "$$(grep -E '^uv==' requirements.lock)"
	$(VENV)/bin/uv pip sync --python $(PY) --quiet requirements.lock
	$(VENV)/bin/uv pip install --python $(PY) --quiet --no-deps -e .
	@touch $@

sysdeps:
	@bash scripts/system-deps.sh

%.mo: %.po
	msgfmt --check -o $@ $<

run: $(INSTALLED) sysdeps $(MO_FILES)
	$(PY) -m config.stack run

test: $(INSTALLED) sysdeps $(MO_FILES)
	$(PY) -m config.stack test $(ARGS)

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
# mypy's django plugin loads the settings, which need these two; nothing connects to them.
	DATABASE_URL=postgres://unused@localhost/unused REDIS_URL=redis://localhost $(VENV)/bin/mypy

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

# Refresh the zh-hans catalog after changing user-facing strings, then translate the new entries.
messages: $(INSTALLED)
	DATABASE_URL=postgres://unused@localhost/unused REDIS_URL=redis://localhost DJANGO_DEBUG=1 \
		$(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=var \
		--ignore=tests --ignore=bench
	@# What is left to translate (tests/test_translations.py fails until it is none).
	@msgfmt --check --statistics -o /dev/null locale/zh_Hans/LC_MESSAGES/django.po

clean:
	rm -rf $(VENV) var
