# Tinget: two commands for a newcomer.
#   make demo   - install what is missing, then run the whole system locally (Ctrl-C stops it)
#   make test   - install what is missing, then run the whole test suite
.PHONY: demo test setup lint fast-test bench clean

setup:
	@bash scripts/setup.sh

demo: setup
	.venv/bin/tinget demo

test: setup
	.venv/bin/ruff check .
	.venv/bin/python -m pytest

# Without the browser and the slow fault-injection suites: for quick local iteration only.
fast-test: setup
	.venv/bin/python -m pytest -m "not e2e and not slow"

lint: setup
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy protocol hub kiosk provisioning trustee tinget

bench: setup
	.venv/bin/python -m bench

clean:
	rm -rf var/ test-output/ .pytest_cache .ruff_cache .mypy_cache
