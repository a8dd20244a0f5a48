# Pulse: `make run` serves the demo, `make test` runs every test. Only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
HOST ?= 127.0.0.1
TRANSLATIONS := pulse/translations
PO_FILES := $(wildcard $(TRANSLATIONS)/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run serve test mutation install install-test translations extract-messages update-messages lint typecheck bench bench-quick clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip setuptools wheel

# Installs are reproducible: setup.cfg keeps version ranges, constraints.txt pins the exact versions tested
# (refresh it with `make lock`).
$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed setup.cfg constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	@touch $@

# Resolve setup.cfg's ranges afresh in a throw-away virtualenv and pin the result.
lock:
	rm -rf .lock-venv && $(PYTHON) -m venv .lock-venv
	.lock-venv/bin/python -m pip install --quiet --upgrade pip
	.lock-venv/bin/python -m pip install --quiet -e '.[test,mutation]'
	.lock-venv/bin/python -m pip freeze --exclude-editable | grep -v '^pulse' > constraints.txt
	rm -rf .lock-venv
	@echo "constraints.txt updated: review the diff, run make test, commit."

install: $(VENV)/.installed translations
install-test: $(VENV)/.installed-test translations

# Compiled catalogues are build output (not in git): the install step makes them.
translations: $(MO_FILES)
$(TRANSLATIONS)/%/LC_MESSAGES/messages.mo: $(TRANSLATIONS)/%/LC_MESSAGES/messages.po $(VENV)/.installed
	$(BIN)/pybabel compile --statistics -d $(TRANSLATIONS) -l $* -i $< -o $@

extract-messages: $(VENV)/.installed
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -k N_ --no-location --sort-output \
		--project Pulse -o $(TRANSLATIONS)/messages.pot .
update-messages: extract-messages
	$(BIN)/pybabel update --no-fuzzy-matching -w 110 -i $(TRANSLATIONS)/messages.pot -d $(TRANSLATIONS)

# The demo: development settings, the embedded SQLite database in instance/, demo data when empty.
run: export PULSE_BASE_URL ?= http://$(HOST):$(PORT)
run: install
	PULSE_ENV=development $(BIN)/pulse db upgrade
	PULSE_ENV=development $(BIN)/pulse demo --if-empty
	PULSE_ENV=development $(BIN)/pulse serve --scheduler --host $(HOST) --port $(PORT)

test: install-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Mutation testing of the anonymity core, one module at a time against its own tests (docs/TESTING.md, "Time budget":
# several hours for every module from scratch on two cores; MUTATION_ARGS="sealing crypto" for some modules,
# "--max-children 1" on a shared machine).
$(VENV)/.installed-mutation: $(VENV)/.installed-test setup.cfg constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test,mutation]'
	@touch $@

mutation: install-test $(VENV)/.installed-mutation
	$(BIN)/python -m mutation.run $(MUTATION_ARGS)

lint: install-test
	$(BIN)/ruff check pulse tests migrations
	$(BIN)/mypy pulse

bench: install-test
	$(BIN)/python -m benchmarks.run

bench-quick: install-test
	$(BIN)/python -m benchmarks.run --quick

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
