"""Split the validated dataset into train and test parts."""

import math

from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, read_table, write_table

STAGE = "split_data"


def known(target):
    """Rows whose target is known: not missing and, for numbers, finite (inf counts as missing here)."""
    import numpy as np
    from pandas.api import types

    present = target.notna()
    if types.is_float_dtype(target):
        present &= ~np.isinf(target.to_numpy(dtype=float, na_value=np.nan))
    return present


def plain(value):
    """A numpy scalar as the Python value it holds, so that messages show 2, not np.int64(2)."""
    return value.item() if hasattr(value, "item") else value


def check_sizes(rows, test_size, strata=None):
    """Explain a split scikit-learn would refuse: an empty part, or (stratified) a part without room for every class.

    The sizes are scikit-learn's: ceil(test_size * rows) test rows and floor((1 - test_size) * rows) train rows.
    """
    n_test, n_train = math.ceil(test_size * rows), math.floor((1.0 - test_size) * rows)
    where = "config key split.test_size"
    if strata is not None:
        counts = strata.value_counts()
        if len(counts) and counts.min() < 2:
            raise StageError(
                STAGE,
                f"class {plain(counts.idxmin())!r} has only {int(counts.min())} row with a known target: a stratified "
                "split needs at least 2 rows of every class (one for each part)",
                "supply more rows of that class, or set split.stratify: false",
                "config key split.stratify",
            )
    need = len(strata.unique()) if strata is not None else 1
    if n_test >= need and n_train >= need:
        return
    sizes = f"split.test_size {test_size} on {rows} rows gives {n_train} training and {n_test} test rows"
    what = f"at least {need} rows each (one per class: the split is stratified)" if need > 1 else "at least 1 row each"
    if rows < 2 * need:
        allowed = f"the data has too few rows for that: {2 * need} are needed"
        fix = "supply more rows" + (", or set split.stratify: false" if need > 1 else "")
    else:
        # rounded inwards, so that both ends are safe to use
        low, high = math.ceil(need / rows * 1e4) / 1e4, math.floor((1 - need / rows) * 1e4) / 1e4
        allowed = f"this data allows split.test_size from {low} to {high}"
        fix = f"set split.test_size between {low} and {high}" + (", or split.stratify: false" if need > 1 else "")
    raise StageError(STAGE, f"{sizes}; both parts need {what}; {allowed}", fix, where)


def check_classes(train, test):
    """Without stratification, a class can land wholly in the test part: the model cannot learn it, and with one
    class left a classifier cannot be fitted at all."""
    unseen = sorted({plain(c) for c in test.unique()} - {plain(c) for c in train.unique()}, key=str)
    if train.nunique() >= 2 and not unseen:
        return
    held = ", ".join(repr(c) for c in sorted({plain(c) for c in train.unique()}, key=str))
    only_test = ", ".join(repr(c) for c in unseen)
    problem = f"the training part holds only class(es) {held}" + (
        f"; class(es) {only_test} are only in the test part, so no model can learn them" if unseen else ""
    )
    raise StageError(
        STAGE,
        problem + " (the split is not stratified)",
        "set split.stratify: true, or supply more rows of the rare classes",
        "config key split.stratify",
    )


def split(df, target, task, test_size, seed, stratify):
    """Rows with a missing target are dropped (they cannot be learned from); the rest is split."""
    from sklearn.model_selection import train_test_split

    df = df[known(df[target])].reset_index(drop=True)
    strata = df[target] if stratify and task != "regression" else None
    check_sizes(len(df), test_size, strata)
    train, test = train_test_split(df, test_size=test_size, random_state=seed, stratify=strata)
    if task != "regression":
        check_classes(train[target], test[target])
    return train.reset_index(drop=True), test.reset_index(drop=True)


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        report = read_json(input.report)
        df = read_table(input.data)
        logger.info("read %d rows x %d columns from %s", *df.shape, input.data)
        train, test = split(df, report["target"], report["task"], **params.split)
        logger.info(
            "%d rows: %d train, %d test (dropped %d with no target)",
            len(df),
            len(train),
            len(test),
            len(df) - len(train) - len(test),
        )
        write_table(train, output.train)
        write_table(test, output.test)
