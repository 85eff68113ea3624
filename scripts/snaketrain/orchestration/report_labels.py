"""Labels of the report's menu entries, read from the outputs when `snakemake --report` runs, so that the menu
itself shows the outcome. Each is a Snakemake `labels=` function: (wildcards, input) -> {column: text}."""

import json
from pathlib import Path


def _read(path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def validation_labels(wildcards, input):
    summary = _read(input.validation)
    failed = sum(check["verdict"] != "pass" for check in summary["checks"])
    return {"validation": f"{len(summary['checks'])} checks, {failed} not passed; {summary['rows']} rows"}


def comparison_labels(wildcards, input):
    best = _read(input.best)
    metric = best["metric"]
    return {"table": f"ranking; best: {best['best_model']} ({metric} {best['metrics'][metric]})"}


def gate_labels(wildcards, input):
    decision = _read(input.decision)
    if decision["passed"]:
        version = _read(input.outcome)["version"]
        result = f"PASSED: {decision['model']} registered as {version}, in production"
    else:
        result = f"FAILED: {decision['model']} not promoted; " + "; ".join(decision["reasons"])
    return {"decision": result}
