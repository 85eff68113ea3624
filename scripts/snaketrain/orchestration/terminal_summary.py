"""The end of a successful run: a short summary on the terminal and the HTML report.

Called from the Snakefile's onsuccess hook, which Snakemake runs only after a real run that did work
(never after a dry run or a run with nothing to do), so the report is rebuilt exactly when results change.
"""

import json
import os
from pathlib import Path

from snaketrain.layout import Layout, registered_name
from snaketrain.registry import model_registry

REPORT_PATH = "report.html"

# the report pages of a run (with experiments, each experiment's in a folder of its own below it)
REPORT_FOLDER = os.path.dirname(Layout().output("summarize_run", "gate"))


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


def judgement_lines(decision):
    """The positive class and decision threshold of a binary model, and the naive rule's score beside the model's."""
    lines = []
    if decision.get("positive_class") is not None:
        threshold = decision.get("threshold")
        how = f", decision threshold {threshold} (cross-validated to maximise its F1)" if threshold is not None else ""
        lines.append(f"  positive:     class {decision['positive_class']!r} (data.positive_class){how}")
    naive = decision.get("naive")
    if naive:
        lines.append(
            f"  naive rule:   {naive['naive_rule']}: {decision['metric']} {naive['bound']} beside the model's "
            f"{decision['value']} (lower bound of the gain in {naive.get('test') or decision['metric']} "
            f"{naive['lower_bound']})"
        )
    return lines


def schema_lines(decision):
    """The gate's input check against production, when the input changed: what changed, one line each."""
    check = next((c for c in decision["checks"] if c["check"] == "input schema vs production"), None)
    changes = (check or {}).get("changes")
    if not changes:
        return []
    verdict = "FAILS the gate" if check["verdict"] == "fail" else "allowed by gate.allow_schema_change"
    lines = [f"  input check:  the input differs from production {check['production_version']} ({verdict})"]
    for key, label in (("columns_added", "added"), ("columns_removed", "removed"), ("columns_retyped", "retyped")):
        if key in changes:
            lines.append(f"    - columns {label}: {', '.join(changes[key])}")
    for key in ("target", "task"):
        if key in changes:
            lines.append(f"    - {key}: {changes[key]['production']} -> {changes[key]['candidate']}")
    return lines


def summary_lines(registry_root, paths, report_path=None, workdir=".", name=None):
    """The summary of the last full run, from its result files; [] if the gate has not run.

    paths: the rules' output files it reads ({decision, best, table, metrics, deploy, alert, alert_log, mlflow}),
    as the Snakefile's onsuccess hook passes them; "metrics" is the evaluate_model pattern with {model}.
    """
    root = Path(workdir)
    drift = _read(root / paths["drift"]) if "drift" in paths else None
    if drift is not None and not drift["decision"]["retrain"]:
        return stopped_lines(drift, paths["drift"], registry_root, report_path)
    decision = _read(root / paths["decision"])
    best = _read(root / paths["best"])
    if decision is None or best is None:
        return []
    name = name or decision.get("name")
    pointer = model_registry.production(Path(root, registry_root), name)
    model = decision["model"]
    lines = ["", "snaketrain summary"]
    lines.append(f"  model name:   {name} (registry.model_name)")
    lines.append(f"  best model:   {model} ({best['metric']} = {decision['value']})")
    lines.append(f"  its metrics:  {_metrics_text(best['metrics'])}")
    lines.extend(judgement_lines(decision))
    lines.append(f"  metrics file: {paths['metrics'].format(model=best['best_model'])}")
    lines.append(f"  all models:   {paths['table']} ({len(best['ranking'])} models)")
    lines.extend(_warning_lines(_read(root / paths["validation"]) if "validation" in paths else None))
    deploy = _read(root / paths["deploy"])
    if decision["passed"] and deploy:
        folder = model_registry.version_dir(registry_root, deploy["version"], name)
        lines.append("  quality gate: PASSED")
        lines.extend(schema_lines(decision))
        lines.append(f"  registered:   version {deploy['version']} in {folder}/")
        lines.append(f"  model:        {folder / model_registry.PIPELINE_FILE} (scikit-learn Pipeline)")
    else:
        lines.append("  quality gate: FAILED - the model was NOT promoted; production is unchanged")
        lines.extend(f"    - {reason}" for reason in decision["reasons"])
        lines.extend(schema_lines(decision))
        lines.append(f"  alert:        {paths['alert']} (delivery: {paths['alert_log']})")
    if pointer:
        previous = pointer.get("previous")
        was = f" (was {previous})" if previous and previous != pointer["version"] else ""
        lines.append(f"  production:   {pointer['version']}{was}")
    else:
        lines.append("  production:   none yet")
    lines.extend(drift_lines(drift, paths["drift"]) if drift else [])
    lines.extend(mlflow_lines(root / paths["mlflow"], root / paths["decision"]) if "mlflow" in paths else [])
    if report_path:
        lines.append(f"  report:       {report_path} (open it in a browser)")
    else:
        lines.append("  report:       not built; make it with: snakemake --report report.html")
    lines.append(f"  history:      snaketrain-history --registry {registry_root} --name {name}")
    lines.append(f"  rollback:     snaketrain-rollback --registry {registry_root} --name {name}")
    return lines


def drift_lines(drift, path):
    """One line on the drift check of this run (monitoring.retrain on_drift or never)."""
    if drift.get("production") is None:
        return [f"  drift check:  nothing in production to compare with ({path})"]
    verdict = "DRIFTED" if drift["dataset_drift"] else "no drift"
    return [
        f"  drift check:  {verdict}: {len(drift['drifted_columns'])} of {drift['tested_columns']} columns "
        f"(share {drift['share_drifted']:.3g}, threshold {drift['drift_share']:g}); {path}"
    ]


def stopped_lines(drift, path, registry_root, report_path):
    """The summary of a run that stopped after the drift check: why, and what stays in production."""
    production = drift.get("production") or {}
    lines = ["", "snaketrain summary", f"  model name:   {drift['name']} (registry.model_name)"]
    lines.extend(drift_lines(drift, path))
    if drift.get("metric"):
        m = drift["metric"]
        lines.append(
            f"  production {m['metric']}: {m['current']:.4g} on the current data (registered {m['registered']:.4g})"
        )
    lines.append("  retrained:    no - " + "; ".join(drift["decision"]["reasons"]) + " (monitoring.retrain)")
    if production:
        lines.append(
            f"  production:   {production['version']} ({production.get('model')}, trained and registered "
            f"{production.get('registered_at') or 'at an unknown time'})"
        )
    lines.append(
        f"  report:       {report_path} (open it in a browser)" if report_path else "  report:       not built"
    )
    lines.append(f"  history:      snaketrain-history --registry {registry_root} --name {drift['name']}")
    return lines


def mlflow_lines(receipt_path, decision_path):
    """What the MLflow mirror did in this run (a receipt older than the gate's decision is from an earlier run)."""
    receipt = _read(receipt_path)
    if receipt is None or Path(receipt_path).stat().st_mtime < Path(decision_path).stat().st_mtime:
        return []
    if not receipt["mirrored"]:
        first, *rest = receipt["warning"].splitlines()
        return [f"  mlflow:       WARNING: {first}", *(f"              {line}" for line in rest)]
    line = f"  mlflow:       run {receipt['run_id']} in experiment {receipt['registered_model']}"
    if receipt.get("production"):
        line += f"; alias production -> {receipt['registered_model']} version {receipt['production']['model_version']}"
    return [line]


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


def summary_files(layout, drift=False):
    """The files the end-of-run summary reads, as the layout places them (one config)."""
    files = {
        "validation": layout.output("validate_data", "report"),
        "decision": layout.output("quality_gate", "decision"),
        "best": layout.output("compare_models", "best"),
        "table": layout.output("compare_models", "table"),
        "metrics": layout.output("evaluate_model", "metrics"),
        "deploy": layout.output("deploy_model", "receipt"),
        "alert": layout.output("raise_alert", "alert"),
        "alert_log": layout.log("raise_alert"),
        "mlflow": layout.output("mirror_mlflow", "receipt"),
    }
    if drift:
        files["drift"] = layout.output("check_drift", "drift")
    return files


def stale_files(workflow, folders=(REPORT_FOLDER,), alerts=()):
    """Files a full run did not make but would be read with its results: report pages under folders (those of another
    dataset or layout: one config's pages beside an experiments run's, say) and gate alerts (one left by an earlier
    run whose gate failed, when this run's passed). A file any job of this run's DAG outputs is never stale."""
    outputs = {os.path.normpath(str(path)) for job in workflow.dag.jobs for path in job.output}
    found = []
    for folder in folders:
        # only a folder this run wrote pages to (a run that stopped after the drift check made none)
        if any(out == os.path.normpath(folder) or out.startswith(os.path.normpath(folder) + os.sep) for out in outputs):
            found += [path for path in sorted(Path(folder).rglob("*")) if path.is_file()]
    if any(job.rule.name == "quality_gate" for job in workflow.dag.jobs):
        found += [Path(path) for path in alerts if Path(path).is_file()]
    return [path for path in found if os.path.normpath(str(path)) not in outputs]


def remove_stale(workflow, folders=(REPORT_FOLDER,), alerts=()):
    """After a full run: remove stale_files, so that the report folder and the alerts describe this run only."""
    removed = []
    for path in stale_files(workflow, folders, alerts):
        try:
            path.unlink()
            removed.append(path)
        except OSError as error:
            print(f"snaketrain: could not remove {path}, which an earlier run left ({error})")
    if removed:
        print(f"snaketrain: removed {len(removed)} file(s) an earlier run left: {', '.join(map(str, removed))}")
    return removed


def on_success(workflow, registry_root, paths, name=None):
    if not ran_full_pipeline(workflow):
        return
    remove_stale(workflow, alerts=[paths["alert"]])
    report = build_report(workflow)
    print("\n".join(summary_lines(registry_root, paths, report, name=name)))


# ---- with experiments


def promotion_lines(deploy_receipts):
    """One line per registered name: which experiment's version is in production after the run."""
    lines = []
    for path in deploy_receipts:
        receipt = _read(path)
        if receipt is None:
            continue
        if receipt.get("version") is None:
            lines.append(
                f"  {receipt['name']}: nothing promoted ({receipt.get('reason', 'no experiment passed its gate')})"
            )
        else:
            lines.append(
                f"  {receipt['name']}: production {receipt['version']} from experiment {receipt.get('experiment')}"
                f" (was {receipt.get('previous') or 'none'})"
            )
    return lines


def experiments_lines(markdown, deploy_receipts, report_path=None, failed=()):
    """The end of a run with experiments: the table of experiments, then each name's production."""
    written = "results/experiments.csv and .md" if not failed else "not written: the run did not finish"
    lines = ["", f"snaketrain: experiments ({written}; `snaketrain experiments` prints it again)", ""]
    lines += markdown.rstrip("\n").splitlines()
    if failed:
        lines += ["", f"  {len(failed)} experiment(s) did not finish:"]
        lines += [f"    - {name}: {status}" for name, status in failed]
    promotions = promotion_lines(deploy_receipts)
    if promotions:
        lines += ["", "  promotions:", *promotions]
    if report_path:
        lines.append(f"  report: {report_path}")
    return lines


def _rows(compared):
    from snaketrain.orchestration.experiments_table import rows_for

    return rows_for(compared["base"], compared["configs"], compared["sweeps"], overlays=compared["overlays"])


def _terminal_table(rows):
    import shutil

    from snaketrain.orchestration.experiments_table import legend, terminal_text

    width = shutil.get_terminal_size((100, 24)).columns
    return legend(rows, width) + "\n\n" + terminal_text(rows, width)


def on_success_experiments(workflow, compared, deploy_receipts):
    """compared: {base, configs, sweeps, overlays} of the selected experiments (the Snakefile's experiments_compared)."""
    if not ran_full_pipeline(workflow):
        return
    layout = Layout(experiments=True)
    remove_stale(
        workflow, alerts=[layout.experiment_file("raise_alert", "alert", name) for name in compared["configs"]]
    )
    report = build_report(workflow)
    # compare_experiments wrote the files; the terminal gets the same table, not a second write of them
    print("\n".join(experiments_lines(_terminal_table(_rows(compared)), deploy_receipts, report)))


def on_error_experiments(workflow, compared, deploy_receipts):
    """After a failed run of the experiments: the table with each experiment's state (failed ones with their failing
    stage) on the terminal; returns [(name, status)] of the experiments that did not finish, for the run-failed alert.

    Writes no file: results/experiments.csv, .md and the report's page are compare_experiments' outputs and describe
    the last run that finished it. A failed command that did not run the experiments (`snakemake predict` with
    another --configfile) prints and returns nothing, since its config may describe other data."""
    if not ran_full_pipeline(workflow):
        return []
    configs = compared["configs"]
    try:
        rows = _rows(compared)
        markdown = _terminal_table(rows)
        failed = [(row["experiment"], row["status"]) for row in rows if row["gate"] is None]
    except Exception as error:  # noqa: BLE001 - the run's own error matters more than its summary
        print(f"snaketrain: could not make the table of experiments ({type(error).__name__}: {error})")
        return []
    print("\n".join(experiments_lines(markdown, deploy_receipts, failed=failed) + waiting_lines(configs, failed)))
    return failed


def waiting_lines(configs, failed):
    """Why a name's production did not move when one of its experiments failed, and how to promote from the rest:
    a name's deploy compares all of its experiments, so it waits for each (a run promotes at most once per name)."""
    failed_names = {name for name, _ in failed}
    lines = []
    for registered in sorted({registered_name(cfg) for cfg in configs.values()}):
        members = [name for name, cfg in configs.items() if registered_name(cfg) == registered]
        finished = [name for name in members if name not in failed_names]
        stuck = [name for name in members if name in failed_names]
        if stuck and finished:
            lines += [
                f"  production of {registered} did not move: its deploy compares all {len(members)} experiments "
                f"registering under it, and {', '.join(stuck)} did not finish.",
                f"    fix it and run again, or promote the best of the others: run this command again with "
                f"--config only={','.join(finished)}",
            ]
    return lines
