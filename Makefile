# KAM Pulse: `make demo` and `make test` do all the set-up on a fresh machine.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The virtualenv is rebuilt when pyproject.toml changes.
INSTALLED := $(VENV)/.installed-$(shell cat pyproject.toml 2>/dev/null | cksum | cut -d' ' -f1)

.PHONY: install system-deps kafka-jars demo test unit lint typecheck bench soak clean

$(INSTALLED): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required: $(PYTHON) not found." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

system-deps:
	@deploy/local/system-deps.sh

kafka-jars: system-deps
	@deploy/local/kafka.sh fetch

install: system-deps kafka-jars $(INSTALLED)

demo: install
	$(BIN)/kam demo

lint: $(INSTALLED)
	$(BIN)/ruff check .

# mypy, strict on the project's packages and bench/ (configured in pyproject.toml [tool.mypy]).
typecheck: $(INSTALLED)
	$(BIN)/mypy

unit: $(INSTALLED)
	$(BIN)/pytest tests/unit

test: install lint typecheck
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

# The kill-anywhere suite at length: more events, more random kills (about 10 minutes).
soak: install
	KAM_SOAK_EVENTS=$${KAM_SOAK_EVENTS:-6000} KAM_SOAK_KILLS=$${KAM_SOAK_KILLS:-12} \
		$(BIN)/pytest tests/integration/test_kill_anywhere.py -p no:cacheprovider

clean:
	rm -rf .kam deploy/local/.run
