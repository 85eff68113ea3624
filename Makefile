# Two commands on a fresh machine: `make run` and `make test`. Both create .venv when needed: `make run` with what
# a run on one machine needs, `make test` with everything (dev tools, cluster plugins, every optional extra).
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CORES ?= 4

.PHONY: setup setup-boost setup-cluster setup-mlflow setup-serve setup-dev serve run test lint format bench bench-experiments bench-serve dag report history clean

# The light environment: what a run on one machine needs (requirements.txt) and the stage code as an
# editable package (scripts/snaketrain), importable by rules, tests and bench.
$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

# Extras, each with its own requirements file: cluster and cloud execution (the profiles' executor and storage
# plugins). Snakemake imports every installed plugin at every start, so a laptop is faster without them.
setup-cluster: $(STAMP)
	$(BIN)/python -m pip install --quiet -r requirements-cluster.txt

# The boosted-tree families xgboost, lightgbm and catboost (requirements-boost.txt), on top of setup
BOOST_STAMP := $(VENV)/.installed-boost
$(BOOST_STAMP): $(STAMP) requirements-boost.txt
	$(BIN)/python -m pip install --quiet -r requirements-boost.txt
	touch $(BOOST_STAMP)

setup-boost: $(BOOST_STAMP)

# Tests and lint (requirements-dev.txt), plus every extra (requirements-*.txt but the benchmark's own), so that
# the tests of the cluster profiles, S3 storage and the other extras run.
EXTRAS := $(filter-out requirements-dev.txt requirements-bench%,$(wildcard requirements-*.txt))
DEV_STAMP := $(VENV)/.installed-dev
$(DEV_STAMP): $(STAMP) requirements-dev.txt $(EXTRAS)
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-dev.txt $(addprefix -r ,$(EXTRAS))
	touch $(DEV_STAMP)

setup-dev: $(DEV_STAMP)

# Optional: the MLflow mirror (tracking.mlflow_uri); `make run` does not install it, `make test` does
MLFLOW_STAMP := $(VENV)/.installed-mlflow
$(MLFLOW_STAMP): $(STAMP) requirements-mlflow.txt
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-mlflow.txt
	touch $(MLFLOW_STAMP)

setup-mlflow: $(MLFLOW_STAMP)

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

test: setup-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

lint: setup-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check workflow
	$(BIN)/snakemake --lint
	$(BIN)/lint-imports --no-cache --no-logo

format: setup-dev
	$(BIN)/ruff format .
	$(BIN)/snakefmt workflow

report: setup
	$(BIN)/snakemake --report report.html

history: setup
	$(BIN)/snaketrain-history $(ARGS)

# The benchmark (bench/README.md): 10,000 and 1,000,000 rows, 3 repetitions; BENCH_ARGS="--sizes 10000" etc.
# It measures the light environment a `make run` user has, in a venv of its own under bench/work/ (git-ignored),
# so that the extras installed in .venv by `make test` do not weigh on its figures.
BENCH_ARGS ?=
BENCH_VENV := bench/work/venv
bench:
	$(MAKE) setup VENV=$(BENCH_VENV)
	$(BENCH_VENV)/bin/python bench/run.py $(BENCH_ARGS)

# The experiments benchmark (bench/README.md, "Experiments"): 10 experiments in one DAG against 10 separate runs, the
# no-op and dry run with 1, 10 and 50 experiments; in the light venv of `make bench`. BENCH_EXPERIMENTS_ARGS="--profile"
BENCH_EXPERIMENTS_ARGS ?=
bench-experiments:
	$(MAKE) setup VENV=$(BENCH_VENV)
	$(BENCH_VENV)/bin/python bench/experiments.py $(BENCH_EXPERIMENTS_ARGS)

# The serving benchmark (bench/README.md): our service against `mlflow models serve` on the same version
BENCH_SERVE_ARGS ?=
bench-serve: setup-serve
	$(BIN)/python -m pip install --quiet -r requirements-mlflow.txt
	$(BIN)/python bench/serve.py $(BENCH_SERVE_ARGS)

# The job DAG as text that needs nothing else: dag.dot (Graphviz) and dag.mmd (Mermaid: GitHub and mermaid.live draw
# it); as pictures (dag.svg, docs/rulegraph.svg) only where Graphviz's `dot` is installed, which pip cannot install.
dag: setup
	$(BIN)/snakemake --dag > dag.dot
	$(BIN)/snakemake --dag mermaid-js > dag.mmd
	@if command -v dot >/dev/null 2>&1; then \
		dot -Tsvg dag.dot > dag.svg && $(BIN)/snakemake --rulegraph | dot -Tsvg > docs/rulegraph.svg && \
		echo "wrote dag.svg and docs/rulegraph.svg (and dag.dot, dag.mmd)"; \
	else \
		echo "wrote dag.dot and dag.mmd (paste dag.mmd into https://mermaid.live, or view it on GitHub)."; \
		echo "For dag.svg install Graphviz (Debian/Ubuntu: sudo apt-get install graphviz; macOS: brew install graphviz), then run make dag again."; \
	fi

clean:
	rm -rf results logs benchmarks resources .snakemake report.html dag.dot dag.mmd dag.svg
