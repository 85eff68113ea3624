"""Print the registry's metrics history per registered model name, and the difference between the newest
version of a name and its production version (or between any two versions of a name).

    snaketrain-history                                # every name in registry/ of the current directory
    snaketrain-history --name penguins                # one name
    snaketrain-history --name penguins --diff 1a2b3c4d5e6f7a8b 9f8e7d6c5b4a3f2e   # two versions of a name
    snaketrain-history --registry /srv/models --json  # (also: python -m snaketrain.orchestration.metrics_history)

Like `dvc metrics diff`, the second table compares two versions metric by metric. Standard library only, so it
runs anywhere the registry is readable.
"""

import argparse
import json
import sys
from pathlib import Path

from snaketrain.model_metrics import higher_is_better
from snaketrain.registry import model_registry as registry

# metrics of one class on a binary task: versions with different positive classes have them of different classes
CLASS_METRICS = frozenset({"f1", "precision", "recall"})
OLD_RULE = "larger-label"  # what versions registered before positive classes measured F1 of


def class_of(entry):
    """The class a version's F1, precision and recall are of: its positive class, "larger label" for a binary
    version registered before positive classes, None when it has none (multiclass, regression)."""
    if "positive_class" in entry:
        return entry["positive_class"]
    return OLD_RULE if entry.get("task") == "binary" else None


def metric_names(versions):
    names = {name for version in versions for name in version.get("metrics", {})}
    return sorted(names)


def history_rows(versions, production_version):
    """Rows of the history table, oldest first: number, version, model, time, each metric, status."""
    names = metric_names(versions)
    binary = any(class_of(entry) is not None for entry in versions)
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
                *([_fmt(class_of(entry))] if binary else []),
                *(_fmt(metrics.get(name)) for name in names),
                status,
            ]
        )
    return ["#", "version", "model", "registered_at", *(["positive_class"] if binary else []), *names, "status"], rows


def compare(first, second):
    """[{metric, first, second, change, better}] for every metric either version has (change: second - first)."""
    rows = []
    old, new = first.get("metrics", {}), second.get("metrics", {})
    other_classes = class_of(first) != class_of(second)
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name), new.get(name)
        change = round(b - a, 6) if a is not None and b is not None else None
        if other_classes and name in CLASS_METRICS:
            change = None  # of different classes: not comparable
        better = None
        if change:
            better = (change > 0) == higher_is_better(name)
        row = {"metric": name, "first": a, "second": b, "change": change, "better": better}
        if other_classes and name in CLASS_METRICS:
            row["note"] = f"of class {class_of(first)} vs class {class_of(second)}: not compared"
        rows.append(row)
    return rows


def diff(newest, production):
    """[{metric, production, newest, change, better}] for every metric either version has."""
    return [
        {
            "metric": r["metric"],
            "production": r["first"],
            "newest": r["second"],
            "change": r["change"],
            "better": r["better"],
            **({"note": r["note"]} if "note" in r else {}),
        }
        for r in compare(production, newest)
    ]


def summary(root, name):
    """Everything the command prints for one name, as one JSON-ready dict."""
    versions = registry.registered_versions(root, name)
    pointer = registry.production(root, name)
    production_version = pointer["version"] if pointer else None
    by_id = {entry["version"]: entry for entry in versions}
    newest = versions[-1] if versions else None
    result = {
        "registry": str(root),
        "name": name,
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


def version_diff(root, name, first, second):
    """The metric-by-metric comparison of two versions of a name (a StageError names a version it lacks)."""
    from snaketrain.stage_log import StageError

    by_id = {entry["version"]: entry for entry in registry.registered_versions(root, name)}
    for version in (first, second):
        if version not in by_id:
            raise StageError(
                "history",
                f"model '{name}' has no version {version} in {root}",
                f"use a version id that snaketrain-history --name {name} lists",
                str(registry.model_dir(root, name)),
            )
    return {"name": name, "first": first, "second": second, "diff": compare(by_id[first], by_id[second])}


def render_version_diff(result):
    first, second = result["first"], result["second"]
    lines = [f"Version {second} vs {first} of {result['name']} (change = {second} - {first})"]
    header = ["metric", first, second, "change"]
    rows = []
    for row in result["diff"]:
        verdict = {True: " better", False: " worse", None: ""}[row["better"]]
        verdict += f" ({row['note']})" if "note" in row else ""
        rows.append([row["metric"], _fmt(row["first"]), _fmt(row["second"]), _signed(row["change"]) + verdict])
    lines.append(format_table(header, rows))
    return "\n".join(lines)


def render(result):
    versions = result["versions"]
    lines = [
        f"Metrics history of {result['name']} in {result['registry']} "
        f"({len(versions)} registered version(s), oldest first)",
        "",
    ]
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
            verdict += f" ({row['note']})" if "note" in row else ""
            rows.append([row["metric"], _fmt(row["production"]), _fmt(row["newest"]), _signed(row["change"]) + verdict])
        lines.append(format_table(header, rows))
    return "\n".join(lines)


def main(argv=None):
    from snaketrain.stage_log import StageError

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--registry", default="registry", help="registry folder (config: registry.path)")
    parser.add_argument("--name", help="registered model name (config: registry.model_name); default: every name")
    parser.add_argument("--diff", nargs=2, metavar=("VERSION", "VERSION"), help="compare two versions of --name")
    parser.add_argument("--json", action="store_true", help="print the history and the diff as JSON")
    args = parser.parse_args(argv)
    root = Path(args.registry)
    try:
        available = registry.names(root)
        names = ([args.name] if args.name in available else []) if args.name else available
        if not names:
            wanted = f" under the name '{args.name}'" if args.name else ""
            print(
                f"no registered versions{wanted} in {root}: run the pipeline first, or pass --registry <path>"
                + (f" (names there: {', '.join(registry.names(root))})" if registry.names(root) else ""),
                file=sys.stderr,
            )
            return 1
        if args.diff:
            if len(names) != 1:
                print(f"--diff needs --name: the registry holds {', '.join(names)}", file=sys.stderr)
                return 2
            result = version_diff(root, names[0], *args.diff)
            print(json.dumps(result, indent=2, sort_keys=True) if args.json else render_version_diff(result))
            return 0
        results = [summary(root, name) for name in names]
    except StageError as error:
        print(error, file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results[0] if args.name else {"names": results}, indent=2, sort_keys=True))
    else:
        print("\n\n".join(render(result) for result in results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
