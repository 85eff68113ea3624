# Two commands on a fresh machine: `make run` and `make test`. Both create .venv when needed.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 4

.PHONY: setup setup-serve serve run test lint format bench bench-serve dag report history clean

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	# the stage code as an editable package (scripts/snaketrain), importable by rules, tests and bench
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# The model service's requirements (requirements-serve.txt), on top of setup
SERVE_STAMP := $(VENV)/.installed-serve
$(SERVE_STAMP): $(STAMP) requirements-serve.txt
	$(BIN)/python -m pip install --quiet -r requirements-serve.txt
	touch $(SERVE_STAMP)

setup-serve: $(SERVE_STAMP)

# The production model over HTTP (docs/serving.md); SERVE_ARGS="--port 9000 --workers 2" etc.
SERVE_ARGS ?=
serve: setup-serve
	$(BIN)/snaketrain-serve $(SERVE_ARGS)

run: setup
	$(BIN)/snakemake --cores $(CORES)

test: setup setup-serve
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check workflow
	$(BIN)/snakemake --lint

format: setup
	$(BIN)/ruff format .
	$(BIN)/snakefmt workflow

report: setup
	$(BIN)/snakemake --report report.html

history: setup
	$(BIN)/snaketrain-history

# The benchmark (bench/README.md): 10,000 and 1,000,000 rows, 3 repetitions; BENCH_ARGS="--sizes 10000" etc.
BENCH_ARGS ?=
bench: setup
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# The serving benchmark (bench/README.md): our service against `mlflow models serve` on the same version
BENCH_SERVE_ARGS ?=
bench-serve: setup-serve
	$(BIN)/python -m pip install --quiet -r requirements-mlflow.txt
	$(BIN)/python bench/serve.py $(BENCH_SERVE_ARGS)

dag: setup
	$(BIN)/snakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg

clean:
	rm -rf results logs benchmarks resources .snakemake report.html
