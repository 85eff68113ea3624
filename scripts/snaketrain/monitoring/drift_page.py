"""The drift check's page in the HTML report: the verdict, a table of every column, one plot per drifted column."""

import base64
import html
import io

from snaketrain.monitoring.drift_tests import binned

STYLE = (
    "body{font-family:sans-serif;margin:1.5em;max-width:70em}table{border-collapse:collapse}"
    "td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}.num{text-align:right}"
    ".drift{background:#fde2e1}.banner{padding:.6em;margin:1em 0;border-radius:4px}"
    ".ok{background:#e3f6e5}.bad{background:#fde2e1}"
)


def _cell(value):
    if isinstance(value, float):
        return f"<td class='num'>{value:.4g}</td>"
    return f"<td>{html.escape('' if value is None else str(value))}</td>"


def column_plot(name, ref, current):
    """PNG bytes: reference against current shares per bin (numbers) or per value (text)."""
    from matplotlib.figure import Figure

    labels, ref_share, cur_share = binned(ref, current, fill_zeroes=False)
    figure = Figure(figsize=(6, 3), dpi=100)
    axes = figure.add_subplot()
    if ref["kind"] == "numeric" and len(labels) == len(ref_share) + 1:
        axes.stairs(ref_share, labels, label="reference", fill=True, alpha=0.5)
        axes.stairs(cur_share, labels, label="current", linewidth=2)
    else:
        positions = range(len(labels))
        axes.bar([p - 0.2 for p in positions], ref_share, width=0.4, label="reference")
        axes.bar([p + 0.2 for p in positions], cur_share, width=0.4, label="current")
        axes.set_xticks(list(positions), [str(label)[:12] for label in labels], rotation=45, fontsize=7)
    axes.set_title(name)
    axes.set_ylabel("share of rows")
    axes.legend()
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def drift_page(report, plots):
    """The page: report is drift.json's content, plots {column: PNG bytes} for the drifted columns."""
    body = []
    if report.get("production") is None:
        body.append("<div class='banner bad'>No model is in production: nothing to compare with.</div>")
    else:
        css = "bad" if report["dataset_drift"] else "ok"
        verdict = "DRIFTED" if report["dataset_drift"] else "has not drifted"
        body.append(
            f"<div class='banner {css}'>The data <b>{verdict}</b>: {len(report['drifted_columns'])} of "
            f"{report['tested_columns']} columns (share {report['share_drifted']:.3g}; dataset drift at "
            f"{report['drift_share']:g}). Compared with production version <code>"
            f"{html.escape(report['production']['version'])}</code> of <b>{html.escape(report['name'])}</b>.</div>"
        )
    decision = report.get("decision", {})
    retrain = "retrain" if decision.get("retrain") else "no retraining"
    reasons = "; ".join(decision.get("reasons", []))
    body.append(f"<p>Decision: <b>{retrain}</b> ({html.escape(reasons)}).</p>")
    if report.get("metric"):
        m = report["metric"]
        body.append(
            f"<p>Production {html.escape(m['metric'])} on the current data: {m['current']:.4g} "
            f"(registered {m['registered']:.4g}; {'holds' if m['holds'] else 'fell'}).</p>"
        )
    header = ["column", "test", "statistic", "threshold", "drifted", "PSI", "missing (ref)", "missing (current)"]
    rows = []
    for name, column in sorted(report.get("columns", {}).items()):
        cells = [name, column["test"], column["statistic"], column["threshold"], column["drifted"], column.get("psi")]
        cells += [column["missing"]["reference"], column["missing"]["current"]]
        css = " class='drift'" if column["drifted"] else ""
        rows.append(f"<tr{css}>" + "".join(_cell(c) for c in cells) + "</tr>")
    if rows:
        body.append("<table><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>" + "".join(rows) + "</table>")
    for name, png in sorted(plots.items()):
        data = base64.b64encode(png).decode("ascii")
        body.append(f"<h2>{html.escape(name)}</h2><img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>Data drift</title>"
        f"<style>{STYLE}</style></head>\n<body><h1>Data drift</h1>\n" + "\n".join(body) + "\n</body></html>\n"
    )
