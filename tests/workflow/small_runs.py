"""Small, finished runs shared by the crash, reproducibility and secrets tests (each made once per session).

A run is cached by name in this module, so every test module that asks for it gets the same directory;
tests that change things branch off a copy (tests.harness.clone_run), never the cached run itself.
"""

import shutil
from pathlib import Path

from tests.harness import clone_run, copy_project, snakemake

# Two fast models and three folds: the same stages and branches as the default config, in seconds.
SMALL_CONFIG = """\
models: [logistic_regression, random_forest]
estimators:
  random_forest:
    estimator: random_forest
    params: {n_estimators: 20}
    search_space:
      max_depth: [null, 4]
      min_samples_leaf: [1]
tuning:
  cv: 3
"""
SMALL_ARGS = ("--configfile", "config/small.yaml")
# the registered model name of these runs (registry.model_name defaults to data.name)
NAME = "breast_cancer"

# Files under the output folders that legitimately differ between two runs of the same config (they
# hold timestamps); logs/, benchmarks/ and .snakemake/ differ too and are not compared at all.
# docs/guarantees.md lists the same set; everything else a run writes is byte-identical.
VOLATILE_FILES = (
    "results/registry/receipt.json",
    "results/deploy/receipt.json",
    "registry/models/breast_cancer/index.json",
    "registry/models/breast_cancer/production.json",
    "registry/models/breast_cancer/history.jsonl",
    "registry/.lock",
    # report pages that show registration and promotion times
    "results/report/history.html",
    "results/report/gate.html",
    "run.out",
)
# where a run writes: acquired data, results, and the registry (the default registry.path)
OUTPUT_PREFIXES = ("resources/", "results/", "registry/")

_runs = {}


def small_project(dest):
    workdir = copy_project(dest)
    (workdir / "config" / "small.yaml").write_text(SMALL_CONFIG)
    return workdir


def small_run(tmp_path_factory, name="small", cores="2"):
    """A finished run of the small config in its own directory, made once per session and name."""
    if name not in _runs:
        workdir = small_project(tmp_path_factory.mktemp(name) / "project")
        result = snakemake(workdir, "--cores", cores, *SMALL_ARGS)
        (workdir / "run.out").write_text(result.stdout)
        _runs[name] = workdir
    return _runs[name]


def is_leftover_temp(rel):
    """A temporary name an atomic write or a registry version uses before its rename (left by a kill)."""
    return any(part.startswith(".tmp-") or (part.startswith(".") and part.endswith(".tmp")) for part in rel.split("/"))


def artifacts(workdir, skip_temp=False):
    """{relative path: bytes} of every file a run wrote that must not differ between runs."""
    workdir = Path(workdir)
    found = {}
    for path in sorted(workdir.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(workdir).as_posix()
        if not rel.startswith(OUTPUT_PREFIXES) or rel in VOLATILE_FILES:
            continue
        if skip_temp and is_leftover_temp(rel):
            continue
        found[rel] = path.read_bytes()
    return found


def differences(a, b, skip_temp=False):
    """Names of artifacts that are missing on one side or differ in bytes."""
    left, right = artifacts(a, skip_temp), artifacts(b, skip_temp)
    return sorted(name for name in set(left) | set(right) if left.get(name) != right.get(name))


def release_branch(src, dest):
    """A copy of a finished run that has to gate, register and deploy again, over a production model.

    The registry is rebuilt with the run's second-best model in production, so that registering the
    best one creates a new version and the production pointer has something to protect.
    """
    from snaketrain.registry import model_registry as registry
    from snaketrain.table_io import read_json

    workdir = clone_run(src, dest)
    from snaketrain.registry.inference import PIPELINE_FILE, make_pipeline, save_pipeline
    from snaketrain.table_io import read_joblib

    old = read_json(registry.production_path(workdir / "registry", NAME))["version"]
    meta = registry.metadata(workdir / "registry", old, NAME)
    for part in ("results/gate", "results/registry", "results/deploy", "registry"):
        shutil.rmtree(workdir / part)
    runner_up = "random_forest" if meta["model"] != "random_forest" else "logistic_regression"
    files = {
        "model.joblib": workdir / "results" / "models" / f"{runner_up}.joblib",
        "preprocessor.joblib": workdir / "results" / "features" / "preprocessor.joblib",
    }
    pipeline = dest.parent / "runner-up.skops"
    save_pipeline(make_pipeline(read_joblib(files["preprocessor.joblib"]), read_joblib(files["model.joblib"])), pipeline)
    files[PIPELINE_FILE] = pipeline
    version, _ = registry.publish(workdir / "registry", files, {**meta, "model": runner_up}, NAME)
    registry.promote(workdir / "registry", version, NAME)
    return workdir
