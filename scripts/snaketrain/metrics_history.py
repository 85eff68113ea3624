"""Print the registry's metrics history and the difference between the newest version and production.

    snaketrain-history                                # registry/ of the current directory
    snaketrain-history --registry /srv/models --json  # (also: python -m snaketrain.metrics_history)

Like `dvc metrics diff`, the second table compares the newest registered version with the one in
production, metric by metric. Standard library only, so it runs anywhere the registry is readable.
"""

import argparse
import json
import sys
from pathlib import Path

from snaketrain import model_registry as registry
from snaketrain.model_metrics import higher_is_better


def metric_names(versions):
    names = {name for version in versions for name in version.get("metrics", {})}
    return sorted(names)


def history_rows(versions, production_version):
    """Rows of the history table, oldest first: number, version, model, time, each metric, status."""
    names = metric_names(versions)
    rows = []
    for number, entry in enumerate(versions, start=1):
        metrics = entry.get("metrics", {})
        status = "production" if entry["version"] == production_version else ""
        rows.append(
            [
                str(number),
                entry["version"],
                entry.get("model") or "",
                entry.get("registered_at") or "",
                *(_fmt(metrics.get(name)) for name in names),
                status,
            ]
        )
    return ["#", "version", "model", "registered_at", *names, "status"], rows


def diff(newest, production):
    """[{metric, production, newest, change, better}] for every metric either version has."""
    rows = []
    old, new = production.get("metrics", {}), newest.get("metrics", {})
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        change = round(b - a, 6) if a is not None and b is not None else None
        better = None
        if change:
            better = (change > 0) == higher_is_better(name)
        rows.append({"metric": name, "production": a, "newest": b, "change": change, "better": better})
    return rows


def summary(root):
    """Everything the command prints, as one JSON-ready dict."""
    versions = registry.registered_versions(root)
    pointer = registry.production(root)
    production_version = pointer["version"] if pointer else None
    by_id = {entry["version"]: entry for entry in versions}
    newest = versions[-1] if versions else None
    result = {
        "registry": str(root),
        "versions": versions,
        "production": production_version,
        "newest": newest["version"] if newest else None,
        "diff": None,
    }
    if newest and production_version in by_id and newest["version"] != production_version:
        result["diff"] = diff(newest, by_id[production_version])
    return result


def _fmt(value):
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _signed(value):
    if value is None:
        return "-"
    return f"{value:+.6g}" if value else "0"


def format_table(header, rows):
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths, strict=True)).rstrip()]
    lines.extend("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows)
    return "\n".join(lines)


def render(result):
    versions = result["versions"]
    lines = [f"Metrics history of {result['registry']} ({len(versions)} registered version(s), oldest first)", ""]
    lines.append(format_table(*history_rows(versions, result["production"])))
    lines.append("")
    production, newest = result["production"], result["newest"]
    if production is None:
        lines.append("No version is in production yet: nothing to compare.")
    elif production == newest:
        lines.append(f"The newest version {newest} is in production: no difference.")
    elif result["diff"] is None:
        lines.append(f"Production {production} is not in the history: nothing to compare.")
    else:
        lines.append(f"Newest vs production (like dvc metrics diff): {newest} vs {production}")
        header = ["metric", f"production {production}", f"newest {newest}", "change"]
        rows = []
        for row in result["diff"]:
            verdict = {True: " better", False: " worse", None: ""}[row["better"]]
            rows.append([row["metric"], _fmt(row["production"]), _fmt(row["newest"]), _signed(row["change"]) + verdict])
        lines.append(format_table(header, rows))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", default="registry", help="registry folder (config: registry.path)")
    parser.add_argument("--json", action="store_true", help="print the history and the diff as JSON")
    args = parser.parse_args(argv)
    root = Path(args.registry)
    result = summary(root)
    if not result["versions"]:
        print(
            f"no registered versions in {root}: run the pipeline first, or pass --registry <path>",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(result, indent=2, sort_keys=True) if args.json else render(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
