"""The end of a successful run: a short summary on the terminal and the HTML report.

Called from the Snakefile's onsuccess hook, which Snakemake runs only after a real run that did work
(never after a dry run or a run with nothing to do), so the report is rebuilt exactly when results change.
"""

import json
from pathlib import Path

REPORT_PATH = "report.html"


def _read(path):
    path = Path(path)
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def _metrics_text(metrics):
    return ", ".join(f"{name} {value:.4g}" for name, value in sorted(metrics.items()))


def _warning_lines(validation):
    """The data checks that warned (e.g. labels that differ only by spaces or case): the run went on, the user should know."""
    warned = [c for c in (validation or {}).get("checks", []) if c["verdict"] == "warn"]
    if not warned:
        return []
    lines = [f"  data checks:  {len(warned)} warning(s), see results/report/validation.html"]
    for check in warned[:5]:
        column = f" column '{check['column']}'" if check.get("column") else ""
        lines.append(f"    - {check['check']}{column}: {check.get('detail') or check['value']}")
    return lines


def summary_lines(registry_root, report_path=None, workdir="."):
    """The summary of the last full run, from its result files; [] if the gate has not run."""
    root = Path(workdir)
    decision = _read(root / "results/gate/decision.json")
    best = _read(root / "results/comparison/best.json")
    if decision is None or best is None:
        return []
    pointer = _read(Path(root, registry_root) / "production.json")
    model = decision["model"]
    lines = ["", "snaketrain summary"]
    lines.append(f"  best model:   {model} ({best['metric']} = {decision['value']})")
    lines.append(f"  its metrics:  {_metrics_text(best['metrics'])}")
    lines.append(f"  metrics file: results/evaluation/{best['best_model']}/metrics.json")
    lines.append(f"  all models:   results/comparison/metrics.csv ({len(best['ranking'])} models)")
    lines.extend(_warning_lines(_read(root / "results/validation/report.json")))
    deploy = _read(root / "results/deploy/receipt.json")
    if decision["passed"] and deploy:
        lines.append("  quality gate: PASSED")
        lines.append(f"  registered:   version {deploy['version']} in {registry_root}/versions/{deploy['version']}/")
        lines.append(f"  model:        {registry_root}/versions/{deploy['version']}/model.joblib")
    else:
        lines.append("  quality gate: FAILED - the model was NOT promoted; production is unchanged")
        lines.extend(f"    - {reason}" for reason in decision["reasons"])
        lines.append("  alert:        results/alerts/alert.json (delivery: logs/raise_alert/raise_alert.log)")
    if pointer:
        previous = pointer.get("previous")
        was = f" (was {previous})" if previous and previous != pointer["version"] else ""
        lines.append(f"  production:   {pointer['version']}{was}")
    else:
        lines.append("  production:   none yet")
    if report_path:
        lines.append(f"  report:       {report_path} (open it in a browser)")
    else:
        lines.append("  report:       not built; make it with: snakemake --report report.html")
    lines.append(f"  history:      python scripts/metrics_history.py --registry {registry_root}")
    return lines


def build_report(workflow, path=REPORT_PATH):
    """Write the HTML report of the run that just finished, in this process (what --report-after-run does).

    Returns the path, or None (with the reason printed) if the report could not be built: a report
    problem never turns a successful run into a failed one.
    """
    try:
        from snakemake.report import auto_report
        from snakemake.settings.types import GlobalReportSettings
        from snakemake_interface_report_plugins.registry import ReportPluginRegistry

        plugin = ReportPluginRegistry().get_plugin("html")
        settings = plugin.settings_cls(path=Path(path))
        workflow.async_run(auto_report(workflow.dag, plugin, settings, GlobalReportSettings()))
    except Exception as error:  # noqa: BLE001 - see the docstring
        print(f"snaketrain: the report could not be built ({type(error).__name__}: {error});")
        print(f"  build it with: snakemake --report {path}")
        return None
    return path


def ran_full_pipeline(workflow):
    """True when the run's DAG ends in rule all (not `snakemake predict` or a single file)."""
    return any(job.rule.name == "all" for job in workflow.dag.jobs)


def on_success(workflow, registry_root):
    if not ran_full_pipeline(workflow):
        return
    report = build_report(workflow)
    print("\n".join(summary_lines(registry_root, report)))
