# The two commands of the README: `make demo` and `make test`.
# Both create or refresh the local virtualenv (.venv) first; nothing needs to be
# installed beforehand but Python >= 3.10 and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo async-demo login-demo test lint typecheck record bench storm venv redis clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]' --config-settings editable_mode=compat
	touch $(STAMP)

venv: $(STAMP)

# redis-server for the Redis token cache tests (Debian's package).
redis:
	@scripts/ensure-redis

demo: venv
	$(BIN)/python -m examples.cars_demo

# The same SDK declarations on mysdk.AsyncClient: concurrent tasks, async for,
# one token request for many tasks on one expiry.
async-demo: venv
	$(BIN)/python -m examples.cars_async_demo

# A device login against the reference server, approved headlessly; later
# `mysdk` processes reuse the saved login with no prompt.
login-demo: venv
	$(BIN)/python -m examples.login_demo

test: venv redis
	$(BIN)/python -m pytest
	$(BIN)/python -m mysdk.testing scan cassettes/
	$(BIN)/ruff check .
	$(BIN)/mypy

# Re-record the vcrpy cassettes in cassettes/ from fresh reference servers
# (mysdk's pytest plugin: --record; refused when CI is set), then scan them.
record: venv
	$(BIN)/python -m pytest tests/replay -q --record
	$(BIN)/python -m mysdk.testing scan cassettes/

bench: venv
	$(BIN)/python bench/request_cost.py
	$(BIN)/python -m bench.request_instructions
	$(BIN)/python -m bench.async_storm

storm: venv redis
	$(BIN)/python bench/token_storm.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
