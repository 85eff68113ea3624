"""The table of experiments, like `dvc exp show` with only the changed parameters by default: one row per experiment
with what it sets (its overlay, not the defaults that come with it), each model's test metric, the best model, the gate's verdict, the registered version and the
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
import shutil
import sys
from datetime import UTC, datetime
from pathlib import Path

from snaketrain.layout import Layout
from snaketrain.model_metrics import higher_is_better
from snaketrain.orchestration import experiments, experiments_file
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


def flat(tree, prefix=""):
    """A nested config as {"a.b": value}, lists as values."""
    items = {}
    for key, value in tree.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            items.update(flat(value, f"{dotted}."))
        else:
            items[dotted] = value
    return items


def changed_settings(base, config, ignore=experiments_file.NOT_IN_OVERLAY):
    """{dotted key: value} of config where it differs from base (both with defaults filled), sorted by key."""
    before, after = flat(base), flat(config)
    # an empty mapping in the base (estimators: {}) that the experiment fills is a leaf only on one side: the keys
    # under it are what changed, not the mapping itself
    filled = {key for key, value in before.items() if value == {} and key not in after}
    keys = sorted((set(before) | set(after)) - filled)
    return {
        key: after.get(key) for key in keys if key.split(".")[0] not in ignore and before.get(key) != after.get(key)
    }


def user_settings(overlay):
    """{dotted key: value} of what an experiment sets (its overlay, a sweep's point included), sorted by key: what
    the user wrote, not the schema's defaults that come with it."""
    return dict(sorted(flat(overlay).items()))


def experiment_row(name, cfg, base, results="results", logs="logs", sweep=None, overlay=None):
    """One experiment's row as {column: value}; columns model:<name> hold each model's test metric.

    overlay: the settings the experiment sets (its `changed` parameters); without it, what differs from base."""
    layout = Layout(experiments=True, results=results)

    def path(rule, output):
        return Path(layout.experiment_file(rule, output, name))

    best = _read_json(path("compare_models", "best"))
    # the metric compare_models selected by (selection.metric "auto" depends on the task validation found)
    configured = cfg["selection"]["metric"]
    metric = (best or {}).get("metric") or (None if configured == "auto" else configured)
    row = {"experiment": name, "sweep": sweep, "data": cfg["data"]["name"], "metric": metric}
    row["changed"] = user_settings(overlay) if overlay is not None else changed_settings(base, cfg)
    compared = model_metrics(path("compare_models", "table"))
    for model in cfg["models"]:
        row[f"model:{model}"] = compared.get(model, {}).get(metric)
    row["metrics"] = (best or {}).get("metrics", {})
    row["best_model"] = (best or {}).get("best_model")
    decision = _read_json(path("quality_gate", "decision"))
    receipt = _read_json(path("register_model", "receipt"))
    row["gate"] = None if decision is None else ("passed" if decision["passed"] else "failed")
    # a receipt left by an earlier run whose gate passed is not this decision's
    row["version"] = (receipt or {}).get("version") if decision and decision["passed"] else None
    row["delta_to_production"] = production_delta(decision) if decision else None
    row["compared_with"] = (decision or {}).get("compared_with")
    ends = [path("register_model", "receipt"), path("raise_alert", "alert"), path("quality_gate", "decision")]
    finished = next((p for p in ends if p.is_file()), None)
    row["finished"] = (
        datetime.fromtimestamp(finished.stat().st_mtime, UTC).strftime("%Y-%m-%d %H:%M:%S") if finished else None
    )
    failed = None if decision else failing_stage(name, experiments.log_folders(name, cfg, logs))
    if decision is None:
        row["status"] = failed or "not run"
    elif decision["passed"]:
        row["status"] = "done"
    else:
        # why, in the gate's words (decision.json's reasons)
        row["status"] = "gate failed: " + "; ".join(decision.get("reasons") or ["see its gate/decision.json"])
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
            {k for k in flat(base) if k.split(".")[0] not in experiments_file.NOT_IN_OVERLAY}
            | {k for row in rows for k in row["changed"]}
        )
    else:
        param_keys = sorted({key for row in rows for key in row["changed"]})
    model_columns = list(dict.fromkeys(col for row in rows for col in row if col.startswith("model:")))
    header = ["experiment", "finished", "data", "metric", *param_keys, *model_columns]
    header += ["best_model", "gate", "version", "delta_to_production", "status"]
    flat_base = flat(base) if base is not None else {}
    lines = []
    for row in rows:
        params = [
            row["changed"].get(key, flat_base.get(key)) if all_params else row["changed"].get(key) for key in param_keys
        ]
        models = [row.get(column) for column in model_columns]
        outcome = [row["best_model"], row["gate"], row["version"], row["delta_to_production"], row["status"]]
        first = [row["experiment"], row["finished"], row["data"], row["metric"]]
        lines.append([_text(v) for v in [*first, *params, *models, *outcome]])
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


def _short(value):
    return _text(value)[:8] if value else MISSING


def compact(rows):
    """(header, lines) of the table a person reads: per experiment what it sets (one `key=value` a line), each model's
    test metric (the best marked *), the registered version (short), the delta to production and the status (a
    failed gate's reason, a failed stage's problem). Each cell is a list of lines. The metric is named in the model
    columns' header when every experiment selects by the same one, else in each cell."""
    metrics = sorted({row["metric"] for row in rows if row["metric"]})
    one_metric = metrics[0] if len(metrics) == 1 else None
    models = list(dict.fromkeys(col.split(":", 1)[1] for row in rows for col in row if col.startswith("model:")))
    datasets = sorted({row["data"] for row in rows})
    header = [["experiment"], *([["data"]] if len(datasets) > 1 else []), ["settings"]]
    header += [[model, f"test {one_metric}" if one_metric else "test metric"] for model in models]
    header += [["version"], ["vs", "prod."], ["status"]]
    lines = []
    for row in rows:
        settings = [f"{key}={_text(value)}" for key, value in row["changed"].items()] or ["(base config)"]
        cells = [[row["experiment"]], *([[row["data"]]] if len(datasets) > 1 else []), settings]
        for model in models:
            value = row.get(f"model:{model}")
            text = _text(value)
            if value is not None and not one_metric:
                text += f" {row['metric']}"
            if value is not None and model == row["best_model"]:
                text += " *"
            cells.append([text])
        delta = row["delta_to_production"]
        cells += [[_short(row["version"])], [MISSING if delta is None else f"{delta:+.4g}"], [row["status"]]]
        lines.append(cells)
    return header, lines


def _aligned(rows_of_cells):
    """Cells (each a list of lines) aligned in columns two spaces apart, a rule under the first row."""
    widths = [max(len(text) for cell in column for text in cell) for column in zip(*rows_of_cells, strict=True)]
    out = []
    for number, cells in enumerate(rows_of_cells):
        for depth in range(max(len(cell) for cell in cells)):
            parts = [(cell[depth] if depth < len(cell) else "").ljust(widths[i]) for i, cell in enumerate(cells)]
            out.append("  ".join(parts).rstrip())
        if number == 0:
            out.append("  ".join("-" * w for w in widths))
    return out


def as_text(header, lines, width):
    """The compact table for a terminal: one line per experiment with its metrics, version, delta and gate, then its
    settings and (when it did not pass) why, indented and wrapped to width, so that no setting widens the table."""
    import textwrap

    keep = [i for i, cell in enumerate(header) if cell[0] not in ("settings", "status")]
    settings, status = header.index(["settings"]), header.index(["status"])
    rows = [[header[i] for i in keep] + [["gate"]]]
    for line in lines:
        failed_gate = line[status][0].startswith("gate failed")
        verdict = "passed" if line[status] == ["done"] else "FAILED" if failed_gate else "-"
        rows.append([line[i] for i in keep] + [[verdict]])
    aligned = _aligned(rows)
    position = max(len(cell) for cell in rows[0]) + 1  # the header's lines and its rule
    out = aligned[:position]
    wrap = textwrap.TextWrapper(width=max(width, 40), subsequent_indent="       ", break_on_hyphens=False)
    for line, cells in zip(lines, rows[1:], strict=True):
        depth = max(len(cell) for cell in cells)
        out += aligned[position : position + depth]
        position += depth
        out += wrap.wrap("  sets " + ", ".join(line[settings]))
        if line[status] != ["done"]:
            out += wrap.wrap("  why  " + line[status][0])
    return "\n".join(out) + "\n"


def legend(rows, width=None):
    """What the table shows, in a sentence (wrapped to width when given)."""
    import textwrap

    metrics = sorted({row["metric"] for row in rows if row["metric"]})
    named = f"test {', '.join(metrics)}" if metrics else "test metric"
    text = (
        f"{len(rows)} experiment(s), best first. Settings (sets): what each experiment sets over the base config; "
        f"model columns: each model's {named} (* = the best, the one registered); vs prod.: its metric minus "
        "that of the production version its gate compared it with."
    )
    return "\n".join(textwrap.wrap(text, width)) if width else text


def terminal_text(rows, width=None):
    """The table for a terminal, width characters wide (the terminal's by default)."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    header, lines = compact(rows)
    return as_text(header, lines, width)


def as_html(header, lines, about=""):
    """The compact table as the report's page, in the other report pages' style (cells wrap: no sideways scroll)."""
    from html import escape

    from snaketrain.figures import page

    def cell(values, head=False):
        tag = "th" if head else "td"
        css = " class='fail'" if not head and values and values[0].startswith(("gate failed", "failed at")) else ""
        return f"<{tag}{css}>" + "<br>".join(escape(str(v)) for v in values) + f"</{tag}>"

    head = "".join(cell([" ".join(h)], head=True) for h in header)
    body = "".join("<tr>" + "".join(cell(c) for c in line) + "</tr>" for line in lines)
    table_html = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return page("Experiments", f"<p>{escape(about)}</p>{table_html}")


def as_compact_markdown(header, lines):
    def cells(values):
        return "| " + " | ".join(str(v).replace("|", "\\|") for v in values) + " |"

    head = [" ".join(h) for h in header]
    body = [cells(["<br>".join(cell) for cell in line]) for line in lines]
    return "\n".join([cells(head), cells(["---"] * len(head)), *body]) + "\n"


def rows_for(base, configs, sweeps=None, results="results", logs="logs", metric=None, overlays=None):
    """overlays: {name: what the experiment sets}, shown as its settings (without: what differs from base)."""
    sweeps, overlays = sweeps or {}, overlays or {}
    rows = [experiment_row(n, c, base, results, logs, sweeps.get(n), overlays.get(n)) for n, c in configs.items()]
    return sort_rows(rows, metric)


def write_tables(rows, csv_path=None, md_path=None, html_path=None):
    """The table as CSV (every column, for tools) and as Markdown and the report's HTML page (the compact table a
    person reads), each written atomically; returns the markdown."""
    from snaketrain.table_io import write_bytes

    files = Layout(experiments=True).outputs("compare_experiments")
    write_bytes(as_csv(*table(rows)).encode(), csv_path or files["csv"])
    header, lines = compact(rows)
    markdown = as_compact_markdown(header, lines)
    write_bytes((legend(rows) + "\n\n" + markdown).encode(), md_path or files["md"])
    if html_path:
        write_bytes(as_html(header, lines, legend(rows)).encode(), html_path)
    return markdown


def params_of(base, overlays, sweeps):
    """compare_experiments' params: a digest of the base config, then one short line per experiment naming what it
    sets. Any change to what the table reads changes them (an experiment's config is the base with its overlay), so
    the rule reruns exactly as when its params were the whole configs; and a dry run's reason names the experiment
    that changed instead of printing every experiment's whole config."""
    import hashlib

    digest = hashlib.sha256(json.dumps(base, sort_keys=True, default=str).encode()).hexdigest()[:16]
    lines = [f"base config {digest}"]
    for name in sorted(overlays):
        sweep = f" (sweep {sweeps[name]})" if sweeps.get(name) else ""
        sets = user_settings(overlays[name])
        text = ", ".join(f"{key}={json.dumps(value, sort_keys=True, default=str)}" for key, value in sets.items())
        lines.append(f"{name}: {text or '(base config)'}{sweep}")
    return lines


# ---- the command: snaketrain experiments


def load_configs(configfiles, schema=SCHEMA, overrides=None):
    """(base config, {name: config}, {name: sweep}, {name: overlay}) as the workflow builds them, from config files."""
    import yaml

    from snaketrain.orchestration.config_check import config_error, with_defaults

    given = {}
    for path in configfiles:
        given = experiments_file.deep_merge(given, yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {})
    given = experiments_file.deep_merge(given, overrides or {})
    problem = config_error(given, schema, configfiles)
    if problem:
        raise problem
    base = with_defaults(given, schema)
    overlays, sweeps = experiments_file.overlays(base["experiments"])
    path = base["experiments"]["file"]
    configs = {
        name: experiments.experiment_config(name, overlay, given, schema, configfiles, path)
        for name, overlay in overlays.items()
    }
    return base, configs, sweeps, overlays


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
    parser.add_argument(
        "--all-params",
        action="store_true",
        help="one column per parameter, every parameter with its base value (wide); by default each experiment's "
        "own settings in one wrapped column, fitting the terminal",
    )
    parser.add_argument("--width", type=int, help="the table's width in characters (default: the terminal's)")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--csv", action="store_true", help="print CSV")
    output.add_argument("--md", action="store_true", help="print a Markdown table")
    args = parser.parse_args(argv)
    try:
        # the Snakefile's configfile first, then --configfile files over it, as snakemake does
        base, configs, sweeps, overlays = load_configs(["config/config.yaml", *(args.configfile or [])])
    except ConfigError as error:
        print(error, file=sys.stderr)
        return 2
    if not configs:
        print(f"no experiments: {base['experiments']['file']} does not exist (README, 'Experiments')", file=sys.stderr)
        return 1
    rows = rows_for(base, configs, sweeps, metric=args.sort_by, overlays=overlays)
    if args.csv:
        sys.stdout.write(as_csv(*table(rows, args.all_params, base)))
    elif args.md:
        md = (
            as_markdown(*table(rows, args.all_params, base)) if args.all_params else as_compact_markdown(*compact(rows))
        )
        sys.stdout.write(md)
    elif args.all_params:
        header, lines = table(rows, args.all_params, base)
        widths = [max(len(str(v)) for v in column) for column in zip(header, *lines, strict=True)]
        for values in [header, *lines]:
            print("  ".join(str(v).ljust(w) for v, w in zip(values, widths, strict=True)).rstrip())
    else:
        width = args.width or shutil.get_terminal_size((100, 24)).columns
        print(legend(rows, width))
        sys.stdout.write(terminal_text(rows, width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
