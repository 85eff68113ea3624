"""The run's report pages: validation summary, model comparison, gate decision, registry history.

Each page is a small self-contained HTML file (or PNG) that the rule marks for `snakemake --report`.
Nothing here carries a timestamp of its own: the pages show the times recorded in the registry.
"""

import csv
import html
import io

from snaketrain.figures import new_figure, page, png_image, save_png
from snaketrain.model_metrics import higher_is_better
from snaketrain.orchestration.metrics_history import diff, history_rows
from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import stage_logging
from snaketrain.table_io import read_json, write_bytes

STAGE = "summarize_run"


def cell(value):
    if value is None:
        return "<td>-</td>"
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, int | float):
        return f"<td class='num'>{html.escape(f'{value:.6g}' if isinstance(value, float) else str(value))}</td>"
    return f"<td>{html.escape(str(value))}</td>"


def verdict_cell(verdict):
    return f"<td class='{html.escape(verdict)}'>{html.escape(verdict.upper())}</td>"


def table(header, rows, row_classes=None):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    lines = [f"<table><thead><tr>{head}</tr></thead><tbody>"]
    for index, row in enumerate(rows):
        css = f" class='{row_classes[index]}'" if row_classes and row_classes[index] else ""
        lines.append(f"<tr{css}>{''.join(row)}</tr>")
    lines.append("</tbody></table>")
    return "\n".join(lines)


# ---- pages


COLUMN_ACTIONS = {
    "numeric": "imputed (missing values flagged), scaled",
    "integer_code": "a number (imputed, scaled) and target-encoded as a code: its codes explain the target better",
    "category": "one-hot encoded",
    "many_valued": "target-encoded",
    "date": "calendar features (year, month, day, day of week, hour, days)",
    "text": "TF-IDF of its words",
    "identifier": "left out",
    "empty": "left out: no value in any row",
}


def column_kinds(report, features_kinds):
    """{column: kind} as the features used them: the validation's detected kinds, with build_features' decisions
    (a whole-number column it kept as a number only) in place of the detected ones."""
    return {column: (features_kinds or {}).get(column, kind) for column, kind in report.get("kinds", {}).items()}


def validation_page(report, features_kinds=None):
    checks = report["checks"]
    failed = sum(c["verdict"] == "fail" for c in checks)
    body = [
        f"<p>Dataset: <b>{report['rows']}</b> rows x <b>{report['columns']}</b> columns; target "
        f"<code>{html.escape(str(report['target']))}</code>; task <b>{html.escape(report['task'])}</b>.</p>",
        # rows without a target are left out at the split (older reports do not count them)
        f"<p><b>{report['rows_without_target']}</b> row(s) without a target, left out of training and testing.</p>"
        if report.get("rows_without_target") is not None
        else "",
        f"<p>{len(checks)} checks: {len(checks) - failed - report['warnings']} passed, "
        f"{report['warnings']} warnings, {failed} failed.</p>",
    ]
    rows = [
        [
            cell(c["check"]),
            cell(c.get("column")),
            cell(c["value"]),
            cell(c["threshold"]),
            verdict_cell(c["verdict"]),
            cell(c.get("detail", "")),
        ]
        for c in checks
    ]
    body.append(table(["check", "column", "value", "threshold", "verdict", "detail"], rows))
    if report.get("kinds"):
        # what each column is, and so what build_features did with it
        kinds = [
            [cell(column), cell(kind["kind"]), cell(COLUMN_ACTIONS.get(kind["kind"], "")), cell(kind["reason"])]
            for column, kind in column_kinds(report, features_kinds).items()
        ]
        body.append("<h2>Columns</h2>")
        body.append(table(["column", "kind", "becomes", "why"], kinds))
    if report.get("dataset_sha256"):
        body.append(f"<p>Data sha256: <code>{html.escape(report['dataset_sha256'])}</code></p>")
    return page("Data validation", "\n".join(body))


def comparison_page(table_csv, best):
    reader = list(csv.reader(io.StringIO(table_csv)))
    header, records = reader[0], reader[1:]
    metric = best["metric"]
    direction = "higher" if best["higher_is_better"] else "lower"
    model_column = header.index("model")
    rows, classes = [], []
    for record in records:
        is_best = record[model_column] == best["best_model"]
        cells = []
        for name, value in zip(header, record, strict=True):
            text = f"{value} (best)" if is_best and name == "model" else value
            cells.append(f"<td class='num'>{html.escape(text)}</td>" if _is_number(value) else cell(text))
        rows.append(cells)
        classes.append("best" if is_best else "")
    body = [
        f"<p>Models ranked by the selection metric <b>{html.escape(metric)}</b> ({direction} is better) on the "
        f"held-out test split. Best model: <b>{html.escape(best['best_model'])}</b> "
        f"({html.escape(metric)} = {best['metrics'][metric]}).</p>",
        *(
            [
                f"<p>Precision, recall and F1 are those of the positive class "
                f"<b>{html.escape(repr(best['positive_class']))}</b> (data.positive_class); each model's labels come "
                "from a decision threshold chosen by cross-validation on the training part to maximise its F1.</p>"
            ]
            if best.get("positive_class") is not None
            else []
        ),
        table(header, rows, classes),
    ]
    return page("Model comparison", "\n".join(body))


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def gate_page(decision, outcome, version_meta, production):
    passed = decision["passed"]
    if passed:
        banner = (
            f"<div class='banner pass'>Quality gate <b>PASSED</b>: model <b>{html.escape(decision['model'])}</b> "
            f"({html.escape(decision['metric'])} = {decision['value']}) was registered as version "
            f"<code>{html.escape(outcome['version'])}</code> and is now in production.</div>"
        )
    else:
        current = production["version"] if production else "none"
        banner = (
            f"<div class='banner fail'>Quality gate <b>FAILED</b>: model <b>{html.escape(decision['model'])}</b> "
            f"({html.escape(decision['metric'])} = {decision['value']}) was <b>not</b> promoted; production is "
            f"unchanged (<code>{html.escape(current)}</code>).</div>"
        )
    body = [banner, judgement_section(decision)]
    schema = next((c for c in decision["checks"] if c["check"] == "input schema vs production"), None)
    if schema:
        body.append(schema_section(schema, decision.get("name")))
    body.append("<h2>Checks</h2>")
    rows = [
        [cell(c["check"]), cell(c["value"]), cell(c["bound"]), verdict_cell(c["verdict"]), cell(c["reason"])]
        for c in decision["checks"]
    ]
    body.append(table(["check", "value", "bound", "verdict", "reason"], rows))
    if decision["reasons"]:
        body.append("<h2>Why it failed</h2><ul>")
        body.extend(f"<li>{html.escape(reason)}</li>" for reason in decision["reasons"])
        body.append("</ul>")
    if version_meta:
        body.append(f"<h2>{'Registered version' if passed else 'Version in production'}</h2>")
        body.append(metadata_table(version_meta, production))
    return page("Quality gate and registry", "\n".join(body))


def _number(value):
    return "-" if value is None else html.escape(f"{value:.6g}" if isinstance(value, float) else str(value))


# metrics that do not depend on the decision threshold
THRESHOLD_FREE = frozenset({"roc_auc"})


def judgement_section(decision):
    """What the model was judged against: the naive rule's score beside the model's, and on a binary task the
    positive class and the decision threshold (with a note when the selection metric ignores the threshold)."""
    parts = []
    naive = decision.get("naive")
    if naive:
        parts.append(
            f"<p>Against the naive rule (<b>{html.escape(str(naive['naive_rule']))}</b>): "
            f"{html.escape(decision['metric'])} {_number(naive['bound'])} for the rule, {_number(decision['value'])} for "
            f"the model; the one-sided lower confidence bound of the model's gain in "
            f"{html.escape(str(naive.get('test') or decision['metric']))} is {_number(naive['lower_bound'])} (a paired "
            "bootstrap of the test rows: it must be above 0; Brier: the class probabilities against the class prior)."
            "</p>"
        )
    if decision.get("positive_class") is not None:
        threshold = decision.get("threshold")
        text = (
            f"<p>Positive class: <b>{html.escape(repr(decision['positive_class']))}</b> (data.positive_class: the "
            "rare class unless set). "
        )
        if threshold is not None:
            text += (
                f"Decision threshold: <b>{threshold}</b> on {html.escape(str(decision.get('threshold_on')))}, chosen "
                "by cross-validation on the training part to maximise the F1 of that class."
            )
        if decision["metric"] in THRESHOLD_FREE:
            text += (
                f" The selection metric {html.escape(decision['metric'])} does not depend on the threshold: the "
                "threshold still maximises the positive class's F1, and the labels the model gives follow it."
            )
        parts.append(text + "</p>")
    return "\n".join(parts)


def schema_section(check, name):
    """The input check against production, spelled out: which columns were added or removed, target, task."""
    changes = check.get("changes") or {}
    title = f"Input vs production {check['production_version']}" + (f" of {name}" if name else "")
    if not changes:
        recoded = (check.get("feature_changes") or {}).get("columns_recoded")
        note = f" Read as codes now (a feature change): {html.escape(', '.join(recoded))}." if recoded else ""
        return f"<h2>{html.escape(title)}</h2><p class='pass'>Same input columns, target and task.{note}</p>"
    rows = []
    for key, label in (
        ("columns_added", "columns added"),
        ("columns_removed", "columns removed"),
        ("columns_retyped", "columns of another kind"),
    ):
        if key in changes:
            rows.append([f"<th>{label}</th>", cell(", ".join(changes[key]))])
    for key in ("target", "task"):
        if key in changes:
            rows.append([f"<th>{key}</th>", cell(f"{changes[key]['production']} -> {changes[key]['candidate']}")])
    css = "fail" if check["verdict"] == "fail" else "warn"
    verdict = "the gate fails on it" if check["verdict"] == "fail" else "allowed by gate.allow_schema_change"
    return f"<h2>{html.escape(title)}</h2><p class='{css}'>The input changed: {html.escape(verdict)}.</p>" + table(
        ["what changed", "details"], rows
    )


def metadata_table(meta, production):
    pointer = production or {}
    schema = meta.get("input_schema", {})
    items = [
        ("name", meta.get("name")),
        ("version", meta.get("version")),
        ("model", meta.get("model")),
        ("estimator", _compact(meta.get("estimator"))),
        ("task", meta.get("task")),
        ("test metrics", _compact(meta.get("metrics"))),
        ("best params", _compact(meta.get("best_params"))),
        ("cv score", meta.get("cv_score")),
        ("target", schema.get("target")),
        ("input columns", len(schema.get("columns", []))),
        ("dataset sha256", meta.get("dataset_sha256")),
        ("git commit", meta.get("git_commit")),
        ("packages", _compact(meta.get("packages"))),
        ("files (sha256)", _compact(meta.get("files"))),
    ]
    if pointer.get("version") == meta.get("version"):
        items.append(("promoted at", pointer.get("promoted_at")))
        items.append(("previous production", pointer.get("previous")))
    # as text, left-aligned: the long values make the column wide, and right-aligned numbers would hide
    rows = [[f"<th>{html.escape(name)}</th>", cell(None if value is None else str(value))] for name, value in items]
    return table(["field", "value"], rows)


def _compact(value):
    if value is None:
        return None
    if isinstance(value, dict):
        return ", ".join(f"{k}={_compact(v)}" for k, v in sorted(value.items()))
    return str(value)


def history_page(versions, production_version, metric, name=None, plot=None):
    """plot: the PNG bytes of history_figure, shown on the page under the table."""
    title = f"Registry history of {name}" if name else "Registry history"
    if not versions:
        return page(title, "<p>No version has been registered yet.</p>")
    header, rows = history_rows(versions, production_version)
    classes = ["best" if row[-1] == "production" else "" for row in rows]
    html_rows = [[cell(value) for value in row] for row in rows]
    shown = f"The plot under this table shows <b>{html.escape(metric)}</b> over the versions." if plot else ""
    body = [
        f"<p>{len(versions)} registered version(s), oldest first; the production version is highlighted. {shown}</p>",
        table(header, html_rows, classes),
    ]
    if plot:
        body.append(png_image(plot, f"{metric} across registered versions"))
    by_id = {v["version"]: v for v in versions}
    newest = versions[-1]
    if production_version in by_id and newest["version"] != production_version:
        body.append(f"<h2>Newest ({newest['version']}) vs production ({production_version})</h2>")
        diff_rows = []
        for row in diff(newest, by_id[production_version]):
            change = "-" if row["change"] is None else f"{row['change']:+.6g}"
            css = {True: "pass", False: "fail", None: ""}[row["better"]]
            diff_rows.append(
                [cell(row["metric"]), cell(row["production"]), cell(row["newest"]), f"<td class='{css}'>{change}</td>"]
            )
        body.append(table(["metric", "production", "newest", "change"], diff_rows))
    return page(title, "\n".join(body))


def history_figure(versions, production_version, metric):
    """The metric of every registered version, in registration order; production marked."""
    figure = new_figure(8, 4.5)
    axes = figure.add_subplot()
    points = [(i, v) for i, v in enumerate(versions, start=1) if metric in v.get("metrics", {})]
    if not points:
        axes.text(0.5, 0.5, f"no registered version has {metric} yet", ha="center", va="center")
        axes.set_axis_off()
    else:
        xs = [i for i, _ in points]
        ys = [v["metrics"][metric] for _, v in points]
        axes.plot(xs, ys, marker="o", color="tab:blue", label=f"{metric} of each registered version")
        for x, (_, version) in zip(xs, points, strict=True):
            if version["version"] == production_version:
                axes.scatter([x], [version["metrics"][metric]], s=220, marker="*", color="tab:orange", zorder=3)
                axes.annotate(
                    "production",
                    (x, version["metrics"][metric]),
                    textcoords="offset points",
                    xytext=(0, 10),
                    ha="center",
                )
        axes.set_xticks(xs, [f"#{i}\n{v['version'][:8]}\n{v.get('model') or ''}" for i, v in points], fontsize="small")
        axes.set_xlim(min(xs) - 0.5, max(xs) + 0.5)
        axes.set_ylabel(f"{metric} ({'higher' if higher_is_better(metric) else 'lower'} is better)")
        axes.grid(axis="y", alpha=0.3)
        axes.legend(loc="best", fontsize="small")
    axes.set_title(f"{metric} across registered versions")
    figure.tight_layout()
    return figure


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        validation = read_json(input.validation)
        features_kinds = read_json(input.schema).get("kinds")
        best = read_json(input.best)
        decision = read_json(input.decision)
        outcome = read_json(input.outcome)
        with open(input.table, encoding="utf-8") as fh:
            comparison = fh.read()
        versions = registry.registered_versions(params.registry, params.name)
        production = registry.production(params.registry, params.name)
        production_version = production["version"] if production else None
        meta_version = outcome["version"] if decision["passed"] else production_version
        version_meta = registry.metadata(params.registry, meta_version, params.name) if meta_version else None
        logger.info(
            "read validation (%d checks), comparison of %d models, gate %s, %d registered versions",
            len(validation["checks"]),
            len(best["ranking"]),
            "passed" if decision["passed"] else "failed",
            len(versions),
        )
        write_bytes(validation_page(validation, features_kinds).encode(), output.validation)
        write_bytes(comparison_page(comparison, best).encode(), output.comparison)
        write_bytes(gate_page(decision, outcome, version_meta, production).encode(), output.gate)
        save_png(history_figure(versions, production_version, best["metric"]), output.history_plot)
        with open(output.history_plot, "rb") as fh:
            plot = fh.read()
        write_bytes(
            history_page(versions, production_version, best["metric"], params.name, plot).encode(),
            output.history_table,
        )
        logger.info("wrote the report pages to %s", ", ".join(str(path) for path in output))
