"""Validate the acquired data against the checks in config; infer the learning task."""

import difflib

from snaketrain.column_kinds import detect
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_table, sha256_file, write_json

STAGE = "validate_data"
MAX_CLASSES_FOR_INTEGER_TARGET = 20
# a text column whose values are nearly all numbers holds stray strings (a typo, "n/a", "?")
MOSTLY_NUMERIC_FRACTION = 0.9


def infer_task(target):
    """binary, multiclass or regression, from the target column's values."""
    import pandas as pd

    values = target.dropna()
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if numeric:
        integer_valued = bool((values == values.round()).all()) if len(values) else True
        if not integer_valued or values.nunique() > MAX_CLASSES_FOR_INTEGER_TARGET:
            return "regression"
    return "binary" if values.nunique() <= 2 else "multiclass"


def _check(name, value, threshold, ok, column=None, severity="fail"):
    return {
        "check": name,
        "column": column,
        "value": value,
        "threshold": threshold,
        "verdict": "pass" if ok else severity,
    }


def _kind_matches(series, kind):
    from pandas.api import types

    tests = {
        "numeric": lambda s: types.is_numeric_dtype(s) and not types.is_bool_dtype(s),
        "integer": types.is_integer_dtype,
        "float": types.is_float_dtype,
        "categorical": lambda s: not types.is_numeric_dtype(s) or types.is_bool_dtype(s),
        "boolean": types.is_bool_dtype,
        "datetime": types.is_datetime64_any_dtype,
    }
    return bool(tests[kind](series))


def _is_text(series):
    from pandas.api import types

    return (
        not types.is_numeric_dtype(series)
        and not types.is_bool_dtype(series)
        and not types.is_datetime64_any_dtype(series)
    )


def stray_text(series):
    """(first value, its row, count) of non-numbers in a text column whose other values are numbers, else None."""
    import pandas as pd

    values = series.dropna()
    if not len(values) or not _is_text(series):
        return None
    parsed = pd.to_numeric(values.astype(str).str.strip(), errors="coerce")
    numeric = int(parsed.notna().sum())
    if numeric == len(values) or numeric < MOSTLY_NUMERIC_FRACTION * len(values):
        return None
    bad = values[parsed.isna()]
    return bad.iloc[0], bad.index[0], len(bad)


def infinite_values(series, policy, column):
    """The infinite_values check of a numeric column (None for other columns): inf and -inf, counted and located.

    policy fail: any infinite value fails the check; missing: they are reported (a warning) and build_features
    treats them as missing values.
    """
    import numpy as np
    from pandas.api import types

    if not types.is_float_dtype(series):  # only floats can hold inf
        return None
    rows = series.index[np.isinf(series.to_numpy(dtype=float, na_value=np.nan))]
    check = _check(
        "infinite_values", len(rows), 0, not len(rows), str(column), "warn" if policy == "missing" else "fail"
    )
    if len(rows):
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        treated = "; treated as missing (validation.infinite: missing)" if policy == "missing" else ""
        check["detail"] = f"{len(rows)} infinite value(s) (inf or -inf) at row index {shown}{treated}"
    return check


def similar_values(series):
    """Groups of distinct text values that differ only by surrounding spaces or case ('Adelie', 'Adelie ')."""
    values = series.dropna().astype(str).unique()
    groups = {}
    for value in values:
        groups.setdefault(value.strip().casefold(), []).append(value)
    return sorted(sorted(group) for group in groups.values() if len(group) > 1)


def _similar_values_check(series, column, severity):
    groups = similar_values(series)
    check = _check("similar_values", len(groups), 0, not groups, str(column), severity)
    if groups:
        shown = "; ".join(" and ".join(map(repr, group)) for group in groups[:3])
        more = f" (and {len(groups) - 3} more groups)" if len(groups) > 3 else ""
        check["detail"] = f"values that differ only by surrounding spaces or case: {shown}{more}"
    return check


# beyond about 1.3e154 a number's square overflows: variances, scaling and squared errors become infinite
HUGE_VALUE = 1e150


def huge_values(series, column):
    """The huge_values check of a float column (None for other columns): finite values beyond +-HUGE_VALUE."""
    import numpy as np
    from pandas.api import types

    if not types.is_float_dtype(series):
        return None
    values = np.abs(series.to_numpy(dtype=float, na_value=np.nan))
    rows = series.index[np.isfinite(values) & (values > HUGE_VALUE)]
    check = _check("huge_values", len(rows), HUGE_VALUE, not len(rows), str(column))
    if len(rows):
        shown = ", ".join(map(str, rows[:5])) + (", ..." if len(rows) > 5 else "")
        largest = values[np.isfinite(values)].max()
        check["detail"] = (
            f"{len(rows)} value(s) beyond +-{HUGE_VALUE:.0e} (largest {largest:.3g}) at row index {shown}: their "
            "squares overflow, so variances, scaling and squared errors become infinite"
        )
    return check


def missing_check(values, column, rules, kind=None):
    """The missing values of one feature column: max_missing_fraction, whose verdict validation.sparse_columns sets
    (warn by default: the column is kept, with its missing values marked), or empty_column for a column without
    any value (left out of the features)."""
    fraction = round(float(values.isna().mean()) if len(values) else 1.0, 6)
    limit = rules["max_missing_fraction"]
    severity = rules.get("sparse_columns", "warn")
    if len(values) and fraction == 1.0:
        check = _check(
            "empty_column", fraction, "some value", False, str(column), "fail" if severity == "fail" else "warn"
        )
        check["detail"] = "no value in any row: left out of the features"
        return check
    ok = fraction <= limit or severity == "ignore"
    check = _check("max_missing_fraction", fraction, limit, ok, str(column), severity)
    if fraction > limit:
        if severity == "fail":
            check["detail"] = f"{fraction:.1%} of its values are missing (validation.sparse_columns: fail)"
        else:
            number = kind is None or kind.kind in ("numeric", "integer_code")
            marked = "imputed, with a missing-value indicator feature" if number else "a category of its own (missing)"
            check["detail"] = (
                f"sparse: {fraction:.1%} of its values are missing; kept, its missing values {marked} when "
                "features.missing_indicators is on"
            )
    return check


def target_missing_check(target, column):
    """Rows without a target (missing, or infinite): reported as such, left out at the split."""
    rows = int((~known(target)).sum())
    check = _check("target_missing", rows, 0, not rows, str(column), "warn")
    if rows:
        check["detail"] = (
            f"{rows} row(s) ({rows / len(target):.1%}) have no target value: they are left out (split_data), and "
            "min_rows counts the rest"
        )
    return check


def known(target):
    """Rows whose target is known: not missing and, for numbers, finite (as split_data keeps them)."""
    import numpy as np
    from pandas.api import types

    present = target.notna()
    if types.is_float_dtype(target):
        present &= ~np.isinf(target.to_numpy(dtype=float, na_value=np.nan))
    return present


def _column_checks(df, column, rules, declared, kind=None, is_target=False):
    """Missing values, stray text in numbers and identifiers, for one column (kind: its column_kinds.Kind); the
    target's missing values are checked apart (target_missing_check)."""
    checks = [] if is_target else [missing_check(df[column], column, rules, kind)]
    if declared in ("categorical", "datetime"):
        return checks
    infinite = infinite_values(df[column], rules.get("infinite", "fail"), column)
    if infinite is not None:
        checks.append(infinite)
    huge = huge_values(df[column], column)
    if huge is not None:
        checks.append(huge)
    stray = stray_text(df[column])
    if stray is not None:
        value, row, bad = stray
        check = _check("numeric_with_text", bad, 0, False, column=str(column))
        check["detail"] = f"holds non-numeric value {value!r} (row index {row}), {bad} such value(s) in all"
        checks.append(check)
        return checks
    severity = rules.get("high_cardinality", "warn")
    if severity != "ignore" and kind is not None and kind.kind == "identifier":
        # dates, free text and many-valued codes are features (build_features); an identifier is not
        distinct = int(df[column].nunique(dropna=True))
        check = _check("identifier", distinct, "about one distinct value per row", False, str(column), severity)
        check["detail"] = f"{kind.reason}: an identifier, left out of the features"
        checks.append(check)
    return checks


def run_checks(df, target, task, rules, drop=(), kinds=None):
    """Every configured check as a dict with its measured value, threshold and verdict.

    Columns listed in drop (features.drop) are left out: they never reach a model. kinds: each column's Kind.
    """
    kinds = kinds or {}
    checks = []
    if target not in df.columns:
        close = difflib.get_close_matches(target, [str(c) for c in df.columns], n=3, cutoff=0.5)
        hint = f"; closest columns: {', '.join(close)}" if close else ""
        checks.append(_check("target_present", False, True, False, column=target))
        checks[-1]["detail"] = f"columns are: {', '.join(map(str, df.columns[:20]))}{hint}"
        return checks
    checks.append(_check("target_present", True, True, True, column=target))
    for column in df.columns:
        if column not in drop and any(ord(ch) < 32 or ord(ch) == 127 for ch in str(column)):
            checks.append(_check("column_name", repr(str(column)), "printable", False, column=repr(str(column))))
    labelled = int(known(df[target]).sum())
    checks.append(_check("min_rows", labelled, rules["min_rows"], labelled >= rules["min_rows"]))
    if labelled < len(df):
        checks[-1]["detail"] = f"rows with a target: {labelled} of {len(df)}"
    checks.append(target_missing_check(df[target], target))
    declared = rules.get("dtypes", {})
    for column in df.columns:
        if column in drop and column != target:
            continue
        column_checks = _column_checks(
            df, column, rules, declared.get(column), kinds.get(column), is_target=column == target
        )
        checks.extend(column_checks)
    severity = rules.get("similar_values", "warn")
    if severity != "ignore":
        for column in df.columns:
            if (column not in drop or column == target) and _is_text(df[column]):
                checks.append(_similar_values_check(df[column], column, severity))
    distinct = int(df[target].nunique(dropna=True))
    checks.append(_check("target_not_constant", distinct, 2, distinct >= 2, column=target))
    if task != "regression" and distinct:
        counts = df[target].value_counts(dropna=True)
        smallest = int(counts.min())
        check = _check(
            "min_rows_per_class",
            smallest,
            rules["min_rows_per_class"],
            smallest >= rules["min_rows_per_class"],
            column=target,
        )
        rarest = counts.idxmin()
        rarest = rarest.item() if hasattr(rarest, "item") else rarest  # 2, not np.int64(2)
        check["detail"] = f"class {rarest!r} has {smallest} rows"
        checks.append(check)
    if rules["duplicates"] != "ignore":
        duplicates = int(df.duplicated().sum())
        checks.append(_check("duplicate_rows", duplicates, 0, duplicates == 0, severity=rules["duplicates"]))
    for column, kind in sorted(rules.get("dtypes", {}).items()):
        if column not in df.columns:
            checks.append(_check("dtype", "absent", kind, False, column=column))
        else:
            checks.append(_check("dtype", str(df[column].dtype), kind, _kind_matches(df[column], kind), column=column))
    return checks


def failure_message(failed):
    lines = [f"{len(failed)} data check(s) failed:"]
    for check in failed:
        where = f" column '{check['column']}'" if check.get("column") else ""
        lines.append(f"  - {check['check']}{where}: value {check['value']}, threshold {check['threshold']}")
        if check.get("detail"):
            lines.append(f"    {check['detail']}")
    return "\n".join(lines)


FIXES = {
    "target_present": "set data.target to the column to predict",
    "min_rows": "supply more rows or lower validation.min_rows",
    "max_missing_fraction": "fill or drop the sparse columns (features.drop), raise validation.max_missing_fraction, "
    "or keep them with a warning (validation.sparse_columns: warn)",
    "empty_column": "leave the column out (features.drop), or keep such columns with a warning "
    "(validation.sparse_columns: warn)",
    "target_not_constant": "the target needs at least two distinct values; check data.target and the data",
    "min_rows_per_class": "supply more rows of the rare class, merge classes, or lower validation.min_rows_per_class",
    "duplicate_rows": "remove duplicate rows, or set validation.duplicates: warn",
    "dtype": "fix the column's values, or correct validation.dtypes",
    "numeric_with_text": "correct or blank the non-numeric values, or declare the column as text "
    "(validation.dtypes: {<column>: categorical})",
    "column_name": "rename the column without control characters (check data.encoding: UTF-16 read as UTF-8 "
    "does this), or leave it out with features.drop",
    "similar_values": "make the values identical where they mean the same (strip spaces, one spelling), or keep "
    "them apart with validation.similar_values: warn",
    "huge_values": "bring the column to a smaller scale (divide it, or take a logarithm), or leave it out with "
    "features.drop",
    "infinite_values": "replace the infinite values in the data, or treat them as missing with "
    "validation.infinite: missing",
    "identifier": "leave the column out (features.drop); if it is a feature, declare its kind (validation.dtypes: "
    "{<column>: categorical}, or name it in features.text or features.dates); or let identifiers be left out with "
    "validation.high_cardinality: warn",
}


def column_report(df, target, rules, drop=(), features=None):
    """{column: Kind} of each feature column (column_kinds), with validation.dtypes and features.* overrides."""
    features = features or {}
    declared, dates = rules.get("dtypes", {}), features.get("dates") or {}
    text, encoding = features.get("text") or [], features.get("encoding") or {}
    max_categories = features.get("max_categories", 20)
    return {
        column: detect(
            df[column], max_categories, declared.get(column), dates.get(column), column in text, encoding.get(column)
        )
        for column in df.columns
        if column != target and column not in drop
    }


def validate(df, target, configured_task, rules, where="data", drop=(), features=None):
    """The validation report; raises StageError listing every failed check."""
    task = configured_task
    if target in df.columns and configured_task == "auto":
        task = infer_task(df[target])
    kinds = column_report(df, target, rules, drop, features)
    checks = run_checks(df, target, task, rules, drop, kinds)
    failed = [c for c in checks if c["verdict"] == "fail"]
    report = {
        "task": task,
        "target": target,
        "rows": int(len(df)),
        # rows without a target are left out at the split; min_rows counts the others
        "rows_without_target": int((~known(df[target])).sum()) if target in df.columns else None,
        "columns": int(df.shape[1]),
        "checks": checks,
        # what each column is and so what build_features does with it
        "kinds": {column: {"kind": kind.kind, "reason": kind.reason} for column, kind in kinds.items()},
        "passed": not failed,
        "warnings": sum(c["verdict"] == "warn" for c in checks),
    }
    if failed:
        fixes = "; ".join(dict.fromkeys(FIXES[c["check"]] for c in failed))
        raise StageError(STAGE, failure_message(failed), fixes, where)
    return report


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        df = read_table(input.data)
        logger.info("read %d rows x %d columns from %s", *df.shape, input.data)
        report = validate(
            df, params.target, params.task, params.rules, where=str(input.data), drop=params.drop, features=params.kinds
        )
        report["dataset_sha256"] = sha256_file(input.data)
        for check in report["checks"]:
            if check["verdict"] != "pass":
                logger.warning(
                    "check %s column %s: value %s, threshold %s",
                    check["check"],
                    check["column"],
                    check["value"],
                    check["threshold"],
                )
        logger.info(
            "task: %s; %d checks passed, %d warnings",
            report["task"],
            len(report["checks"]) - report["warnings"],
            report["warnings"],
        )
        write_json(report, output.report)
