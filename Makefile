# The README's two commands are `make chat` (or `make serve` once the server lands) and `make test`.
.PHONY: setup chat test lint format bench clean

setup:
	bash scripts/setup.sh

chat: setup
	.venv/bin/parley chat

test: setup
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/ruff format --check src tests benchmarks
	.venv/bin/pytest

lint:
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/ruff format --check src tests benchmarks

format:
	.venv/bin/ruff check --fix src tests benchmarks
	.venv/bin/ruff format src tests benchmarks

bench: setup
	.venv/bin/python benchmarks/generation.py

clean:
	rm -rf .venv build src/*.egg-info .pytest_cache
