"""Where the workflow's files live: every output, log and benchmark of every rule, with and without experiments,
and the name a run registers its model under. The rules, the experiments' bookkeeping, the table of experiments
and the service ask this module; nothing else spells these paths. The registry's own files are model_registry's.

With experiments (config/experiments.yaml) a rule's files live in the folder of its scope:

    experiment  results/<experiment>/...          compare, gate, register, alert, report pages, MLflow receipt
    dataset     resources/data/<data.name>.parquet, logs/_shared/<data.name>/...
    data        results/_shared/data-<key>/...     validation (shared by experiments whose data settings agree)
    features    results/_shared/features-<key>/... split and features
    fit         results/_shared/fit-<key>/...      a model's estimator, tuning, training, evaluation
    deploy      results/_deploy/<name>/...         one deploy per registered name
    run         results/...                        once per run: drift, rollback, predictions, experiments table

Without experiments every scope's folder part is empty (results/gate/decision.json), the layout users know.
"""

RESULTS = "results"

# rule: (scope, {output: path under the scope's folder}); {model} is the model wildcard
OUTPUTS = {
    "acquire_data": ("dataset", {"data": "{dataset}.parquet"}),
    "validate_data": ("data", {"report": "validation/report.json"}),
    "split_data": ("features", {"train": "split/train.parquet", "test": "split/test.parquet"}),
    "build_features": (
        "features",
        {
            "preprocessor": "features/preprocessor.joblib",
            "train": "features/train.parquet",
            "test": "features/test.parquet",
            "schema": "features/schema.json",
        },
    ),
    "resolve_estimator": ("fit", {"estimator": "estimators/{model}.json"}),
    "tune_model": (
        "fit",
        {"best_params": "tuning/{model}/best_params.json", "cv_results": "tuning/{model}/cv_results.csv"},
    ),
    "train_model": ("fit", {"model": "models/{model}.joblib"}),
    "evaluate_model": (
        "fit",
        {
            "metrics": "evaluation/{model}/metrics.json",
            "answers": "evaluation/{model}/answers.parquet",
            "plot": "evaluation/{model}/plot.png",
            "importance": "evaluation/{model}/importance.png",
        },
    ),
    "compare_models": ("experiment", {"table": "comparison/metrics.csv", "best": "comparison/best.json"}),
    "quality_gate": ("experiment", {"decision": "gate/decision.json"}),
    "register_model": (
        "experiment",
        {"receipt": "registry/receipt.json", "pipeline": "registry/pipeline.skops", "profile": "registry/profile.json"},
    ),
    "deploy_model": ("deploy", {"receipt": "deploy/receipt.json"}),
    "raise_alert": ("experiment", {"alert": "alerts/alert.json"}),
    "summarize_run": (
        "experiment",
        {
            "validation": "report/validation.html",
            "comparison": "report/comparison.html",
            "gate": "report/gate.html",
            "history_table": "report/history.html",
            "history_plot": "report/history.png",
        },
    ),
    "mirror_mlflow": ("experiment", {"receipt": "mlflow/receipt.json"}),
    "compare_experiments": (
        "run",
        {"csv": "experiments.csv", "md": "experiments.md", "page": "report/experiments.html"},
    ),
    "check_drift": ("run", {"drift": "monitoring/drift.json", "page": "report/drift.html"}),
    "rollback_model": ("run", {"receipt": "rollback/receipt.json"}),
    "predict": ("run", {"predictions": "predictions/{stem}.parquet"}),
    "sync_mlflow": ("run", {}),
}

# the folder part of each scope with experiments (without them, every part is empty)
SCOPE_FOLDERS = {
    "experiment": "{experiment}/",
    "dataset": "_shared/{dataset}/",
    "data": "_shared/data-{data}/",
    "features": "_shared/features-{features}/",
    "fit": "_shared/fit-{fit}/",
    "deploy": "_deploy/{name}/",
    "run": "",
}


def registered_name(cfg):
    """The registered model name a config's model is a version of: registry.model_name, else data.name."""
    registry = cfg.get("registry") or {}
    return registry.get("model_name") or (cfg.get("data") or {}).get("name")


class Layout:
    """The paths of one workflow: `Layout(experiments=True)` for a run with an experiments file."""

    def __init__(self, experiments=False, dataset=None, results=RESULTS):
        self.experiments = experiments
        self.results = results
        # without experiments the one data.name is part of the acquired file's name, not a wildcard
        self.dataset = dataset

    def folder(self, scope):
        """The folder part of a scope ('' without experiments)."""
        return SCOPE_FOLDERS[scope] if self.experiments else ""

    def scope(self, rule):
        return OUTPUTS[rule][0]

    def output(self, rule, name):
        """The path pattern of a rule's output, e.g. output("quality_gate", "decision")."""
        scope, files = OUTPUTS[rule]
        if scope == "dataset":
            # acquired data is the one output outside results/: deleting results never loses a download
            path = f"resources/data/{files[name]}"
            return path if self.experiments else path.replace("{dataset}", self.dataset)
        return f"{self.results}/{self.folder(scope)}{files[name]}"

    def outputs(self, rule):
        """{name: path pattern} of every output of a rule."""
        return {name: self.output(rule, name) for name in OUTPUTS[rule][1]}

    def _job_file(self, root, rule, ext):
        scope = self.scope(rule)
        job = "{model}" if scope == "fit" else rule
        return f"{root}/{self.folder(scope)}{rule}/{job}.{ext}"

    def log(self, rule):
        return self._job_file("logs", rule, "log")

    def benchmark(self, rule):
        return self._job_file("benchmarks", rule, "tsv")

    def experiment_file(self, rule, name, experiment):
        """An experiment's own output (experiment scope), e.g. its gate decision."""
        return self.output(rule, name).format(experiment=experiment)

    def log_folders(self, experiment, keys, logs="logs"):
        """Where an experiment's jobs log: its own folder, then the shared ones it reads from (keys as
        Experiments.keys_of gives them)."""
        shared = [
            SCOPE_FOLDERS["dataset"].format(dataset=keys["dataset"]),
            SCOPE_FOLDERS["data"].format(data=keys["data"]),
            SCOPE_FOLDERS["features"].format(features=keys["features"]),
        ]
        shared += [SCOPE_FOLDERS["fit"].format(fit=key) for key in keys["fit"].values()]
        return [f"{logs}/{experiment}", *(f"{logs}/{folder.rstrip('/')}" for folder in shared)]
