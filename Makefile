# The README's two commands are `make serve` (the main job) and `make test`.
.PHONY: setup serve chat test lint format bench clean

setup:
	bash scripts/setup.sh

serve: setup
	.venv/bin/parley serve

chat: setup
	.venv/bin/parley chat

test: setup
	.venv/bin/ruff check src tests benchmarks scripts
	.venv/bin/ruff format --check src tests benchmarks scripts
	.venv/bin/mypy src
	.venv/bin/pytest

lint:
	.venv/bin/ruff check src tests benchmarks scripts
	.venv/bin/ruff format --check src tests benchmarks scripts

format:
	.venv/bin/ruff check --fix src tests benchmarks scripts
	.venv/bin/ruff format src tests benchmarks scripts

bench: setup
	.venv/bin/python benchmarks/generation.py
	.venv/bin/python benchmarks/retrieval.py
	.venv/bin/python benchmarks/moderation.py
	.venv/bin/python benchmarks/sessions.py
	.venv/bin/python benchmarks/server.py

clean:
	rm -rf .venv build src/*.egg-info .pytest_cache
