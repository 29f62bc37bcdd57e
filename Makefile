# Shortcuts for the scripts (CI runs `bash scripts/test.sh`, which is `make check`).
.PHONY: check fast test fix lock setup

check:          ## the whole gate: lock, format, lint, types, every test
	bash scripts/check.sh

fast:           ## the same gate without the slow and browser tests
	bash scripts/check.sh --fast

test:           ## only the fast tests (arguments: make test ARGS="-k plan")
	bash scripts/test.sh -m "not slow and not e2e" $(ARGS)

fix:            ## format and apply ruff's safe fixes
	.venv/bin/ruff format .
	.venv/bin/ruff check --fix .

lock:           ## after editing dependencies in pyproject.toml
	.venv/bin/uv lock
	bash scripts/setup.sh

setup:
	bash scripts/setup.sh
