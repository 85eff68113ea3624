"""The table of experiments, like `dvc exp show` with only the changed parameters by default: one row per experiment
with what it changed, each model's test metric, the best model, the gate's verdict, the registered version and the
delta to the production version it was compared with; `-` where a value is missing, and a failed experiment's
failing stage.

Read from the files the experiments' jobs wrote. Only the compare_experiments rule writes results/experiments.csv, .md
and the report's page (so the three always describe the same run); the end-of-run hooks and the `snaketrain
experiments` command print it.
"""

import argparse
import csv
import io
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from snaketrain.model_metrics import higher_is_better
from snaketrain.orchestration import experiments
from snaketrain.stage_log import ConfigError, first_error

MISSING = "-"
# the per-experiment stages in pipeline order, each with the folder of its logs (a shared folder's stages first)
STAGES = (
    "acquire_data",
    "validate_data",
    "split_data",
    "build_features",
    "resolve_estimator",
    "tune_model",
    "train_model",
    "evaluate_model",
    "compare_models",
    "quality_gate",
    "register_model",
    "raise_alert",
)
SCHEMA = "workflow/schemas/config.schema.yaml"


def _read_json(path):
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def _text(value):
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (dict, list, bool)):
        return json.dumps(value)
    return str(value)


def model_metrics(table_path):
    """{model: {metric: value}} from an experiment's comparison table (compare_models), {} when it is missing."""
    try:
        with open(table_path, newline="") as fh:
            return {
                row["model"]: {k: float(v) for k, v in row.items() if k not in ("rank", "model") and v != ""}
                for row in csv.DictReader(fh)
            }
    except OSError:
        return {}


def failing_stage(name, log_folders):
    """'<stage>: <problem>' for the first stage of the experiment whose log holds an error, else None."""
    for stage in STAGES:
        for folder in log_folders:
            for log in sorted(Path(folder, stage).glob("*.log")):
                error = first_error(log.read_text(errors="replace"))
                if error:
                    return f"failed at {stage} ({log.stem}): {error[0].split('] ', 1)[-1]}"
    return None


def production_delta(decision):
    """The candidate's selection metric minus the production version's on the same test part (from the gate's
    check against production); None when nothing was compared."""
    for check in decision.get("checks", []):
        if check.get("production_version") and isinstance(check.get("bound"), (int, float)):
            return decision["value"] - check["bound"]
    return None


def experiment_row(name, cfg, base, results="results", logs="logs", sweep=None):
    """One experiment's row as {column: value}; columns model:<name> hold each model's test metric."""
    folder = Path(results, name)
    best = _read_json(folder / "comparison" / "best.json")
    # the metric compare_models selected by (selection.metric "auto" depends on the task validation found)
    configured = cfg["selection"]["metric"]
    metric = (best or {}).get("metric") or (None if configured == "auto" else configured)
    row = {"experiment": name, "sweep": sweep, "data": cfg["data"]["name"], "metric": metric}
    row["changed"] = experiments.changed_settings(base, cfg)
    compared = model_metrics(folder / "comparison" / "metrics.csv")
    for model in cfg["models"]:
        row[f"model:{model}"] = compared.get(model, {}).get(metric)
    row["metrics"] = (best or {}).get("metrics", {})
    row["best_model"] = (best or {}).get("best_model")
    decision = _read_json(folder / "gate" / "decision.json")
    receipt = _read_json(folder / "registry" / "receipt.json")
    row["gate"] = None if decision is None else ("passed" if decision["passed"] else "failed")
    row["version"] = (receipt or {}).get("version")
    row["delta_to_production"] = production_delta(decision) if decision else None
    row["compared_with"] = (decision or {}).get("compared_with")
    ends = [folder / "registry" / "receipt.json", folder / "alerts" / "alert.json", folder / "gate" / "decision.json"]
    finished = next((p for p in ends if p.is_file()), None)
    row["finished"] = (
        datetime.fromtimestamp(finished.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S") if finished else None
    )
    failed = None if decision else failing_stage(name, experiments.log_folders(name, cfg, logs))
    row["status"] = "done" if decision else failed or "not run"
    return row


def sort_rows(rows, metric=None):
    """Best first by metric (each experiment's selection metric by default); missing values last, then by name."""

    def key(row):
        chosen = metric or row["metric"]
        value = row["metrics"].get(chosen) if chosen else None
        if value is None:
            return (1, 0, row["experiment"])
        return (0, -value if higher_is_better(chosen) else value, row["experiment"])

    return sorted(rows, key=key)


def table(rows, all_params=False, base=None):
    """(header, lines) of the table: params that differ (or every param), then models, then the outcome."""
    if all_params and base is not None:
        param_keys = sorted(
            {k for k in experiments.flat(base) if k.split(".")[0] not in experiments.NOT_IN_OVERLAY}
            | {k for row in rows for k in row["changed"]}
        )
    else:
        param_keys = sorted({key for row in rows for key in row["changed"]})
    model_columns = list(dict.fromkeys(col for row in rows for col in row if col.startswith("model:")))
    header = ["experiment", "finished", "data", *param_keys, *model_columns]
    header += ["best_model", "gate", "version", "delta_to_production", "status"]
    flat_base = experiments.flat(base) if base is not None else {}
    lines = []
    for row in rows:
        params = [
            row["changed"].get(key, flat_base.get(key)) if all_params else row["changed"].get(key) for key in param_keys
        ]
        models = [row.get(column) for column in model_columns]
        outcome = [row["best_model"], row["gate"], row["version"], row["delta_to_production"], row["status"]]
        lines.append([_text(v) for v in [row["experiment"], row["finished"], row["data"], *params, *models, *outcome]])
    return header, lines


def as_csv(header, lines):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(lines)
    return buffer.getvalue()


def as_markdown(header, lines):
    def cells(values):
        return "| " + " | ".join(str(v).replace("|", "\\|") for v in values) + " |"

    return "\n".join([cells(header), cells(["---"] * len(header)), *(cells(line) for line in lines)]) + "\n"


def as_html(header, lines):
    from html import escape

    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(v))}</td>" for v in line) + "</tr>" for line in lines)
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Experiments</title><style>"
        "table{border-collapse:collapse;font-family:sans-serif;font-size:13px}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}</style></head><body>"
        f"<h2>Experiments</h2><p>{len(lines)} experiments, best first; parameters shown where they differ from the "
        f"base config.</p><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>\n"
    )


def rows_for(base, configs, sweeps=None, results="results", logs="logs", metric=None):
    sweeps = sweeps or {}
    rows = [experiment_row(n, c, base, results, logs, sweeps.get(n)) for n, c in configs.items()]
    return sort_rows(rows, metric)


def write_tables(rows, csv_path="results/experiments.csv", md_path="results/experiments.md", html_path=None):
    """The table as CSV and Markdown (and the report's HTML page), each written atomically; returns the markdown
    (for the terminal)."""
    from snaketrain.table_io import write_bytes

    header, lines = table(rows)
    write_bytes(as_csv(header, lines).encode(), csv_path)
    markdown = as_markdown(header, lines)
    write_bytes(markdown.encode(), md_path)
    if html_path:
        write_bytes(as_html(header, lines).encode(), html_path)
    return markdown


# ---- the command: snaketrain experiments


def load_configs(configfiles, schema=SCHEMA, overrides=None):
    """(base config, {name: config}, {name: sweep}) as the workflow builds them, from config files."""
    import yaml

    from snaketrain.orchestration.config_check import config_error, with_defaults

    given = {}
    for path in configfiles:
        given = experiments.deep_merge(given, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    given = experiments.deep_merge(given, overrides or {})
    problem = config_error(given, schema, configfiles)
    if problem:
        raise problem
    base = with_defaults(given, schema)
    overlays, sweeps = experiments.overlays(base["experiments"])
    path = base["experiments"]["file"]
    configs = {
        name: experiments.experiment_config(name, overlay, given, schema, configfiles, path)
        for name, overlay in overlays.items()
    }
    return base, configs, sweeps


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="snaketrain experiments",
        description="One row per experiment: changed parameters, each model's test metric, best model, gate, "
        "registered version and delta to production. Run from the project directory.",
    )
    parser.add_argument(
        "--configfile", action="append", help="config files over config/config.yaml, as given to snakemake"
    )
    parser.add_argument("--sort-by", metavar="METRIC", help="sort by this test metric of the best model")
    parser.add_argument("--all-params", action="store_true", help="show every parameter, not only changed ones")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="print CSV")
    output.add_argument("--md", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    try:
        # the Snakefile's configfile first, then --configfile files over it, as snakemake does
        base, configs, sweeps = load_configs(["config/config.yaml", *(args.configfile or [])])
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if not configs:
        print(f"no experiments: {base['experiments']['file']} does not exist (README, 'Experiments')", file=sys.stderr)
        return 1
    rows = rows_for(base, configs, sweeps, metric=args.sort_by)
    header, lines = table(rows, args.all_params, base)
    if args.csv:
        sys.stdout.write(as_csv(header, lines))
    elif args.md:
        sys.stdout.write(as_markdown(header, lines))
    else:
        widths = [max(len(str(v)) for v in column) for column in zip(header, *lines, strict=True)]
        for values in [header, *lines]:
            print("  ".join(str(v).ljust(w) for v, w in zip(values, widths, strict=True)).rstrip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
