"""Preprocess and engineer features: a ColumnTransformer fitted on the training split only."""

from collections import Counter
from dataclasses import asdict

from snaketrain.column_kinds import KINDS, Kind, detect
from snaketrain.custom_features import apply as apply_custom
from snaketrain.custom_features import file_sha256, load_function
from snaketrain.preprocessing import make_preprocessor
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, read_table, write_joblib, write_json, write_table

STAGE = "build_features"
TARGET_ENCODING_MIN_ROWS = 20
# A whole-number column keeps its codes' target encoding only where the codes explain the target better than the
# number's order does: zip codes and store numbers do; delays, distances and counts do not, and the encoding of
# such a quantity is noise the models pay for (flights_delay: test RMSE 10.5 with it, 10.1 without).
CODE_GAIN = 0.01  # out-of-fold R² of the target the codes must add over an 8-leaf tree on the number
CODE_CHECK_ROWS = 20_000  # a seeded sample of the training part is enough to tell
ORDER_LEAVES = 8


def feature_columns(df, target, drop):
    """The feature columns: all but the target and features.drop, in their original order."""
    missing = sorted(set(drop) - set(df.columns))
    if missing:
        raise StageError(
            STAGE,
            f"features.drop names columns that do not exist: {', '.join(missing)}",
            "remove them from features.drop",
            "features.drop",
        )
    features = [c for c in df.columns if c != target and c not in drop]
    unprintable = [c for c in features if any(ord(ch) < 32 or ord(ch) == 127 for ch in str(c))]
    if unprintable:
        # numpy drops a trailing NUL from names, so such a column cannot even be selected again
        raise StageError(
            STAGE,
            f"column names hold control characters: {', '.join(map(repr, unprintable))}",
            "rename the columns in the data file (a wrong data.encoding, e.g. UTF-16 read as UTF-8, can cause this), "
            "or leave them out with features.drop",
            "features",
        )
    if not features:
        raise StageError(
            STAGE, "no feature columns are left after dropping", "drop fewer columns (features.drop)", "features.drop"
        )
    return features


def column_kinds(df, target, settings, declared=None):
    """{column: Kind} of every feature column, detected on df (the training part) with the user's overrides."""
    declared = declared or {}
    dates, text, encoding = settings.get("dates") or {}, settings.get("text") or [], settings.get("encoding") or {}
    unknown = sorted((set(dates) | set(text) | set(encoding)) - set(df.columns))
    if unknown:
        raise StageError(
            STAGE,
            f"features.dates, features.text or features.encoding name columns that do not exist: {', '.join(unknown)}",
            "name columns of the data file",
            "features",
        )
    return {
        column: detect(
            df[column],
            settings["max_categories"],
            declared.get(column),
            dates.get(column),
            column in text,
            encoding.get(column),
        )
        for column in feature_columns(df, target, settings["drop"])
    }


def codes_or_numbers(train, target, kinds, task, seed=0):
    """kinds with each integer_code column that behaves as a quantity turned numeric: on the training part (a
    sample of CODE_CHECK_ROWS), the out-of-fold R² of its codes' target encoding against that of a shallow tree on
    its value order (ORDER_LEAVES leaves); it stays a code only when the codes add more than CODE_GAIN."""
    import numpy as np
    import pandas as pd
    from sklearn.model_selection import KFold, cross_val_predict
    from sklearn.preprocessing import TargetEncoder
    from sklearn.tree import DecisionTreeRegressor

    codes = [c for c, k in kinds.items() if k.kind == "integer_code"]
    if not codes:
        return kinds
    sample = train.sample(min(len(train), CODE_CHECK_ROWS), random_state=seed)
    answers = encodable(sample[target], task)
    if pd.api.types.is_numeric_dtype(answers):
        y = answers.to_numpy(dtype=float).reshape(-1, 1)
    else:  # one 0/1 column per class: the share of each class explained
        y = pd.get_dummies(answers).to_numpy(dtype=float)
    total = ((y - y.mean(axis=0)) ** 2).sum() or 1.0
    folds = KFold(n_splits=5, shuffle=True, random_state=seed)

    def explained(predicted):
        return 1 - ((y - predicted) ** 2).sum() / total

    refined = dict(kinds)
    for column in codes:
        values = sample[[column]].astype(float)
        tree = DecisionTreeRegressor(max_leaf_nodes=ORDER_LEAVES, min_samples_leaf=20, random_state=seed)
        order = explained(cross_val_predict(tree, values, y, cv=folds).reshape(y.shape))
        encoder = TargetEncoder(target_type="continuous", cv=folds)
        as_codes = np.column_stack([encoder.fit_transform(values, y[:, j]).ravel() for j in range(y.shape[1])])
        coded = explained(as_codes)
        if coded <= order + CODE_GAIN:
            refined[column] = Kind(
                "numeric",
                f"whole numbers, but their order explains the target as well as their codes do (out-of-fold R² "
                f"{order:.3f} as a number, {coded:.3f} as codes): kept as a number only",
            )
    return refined


def finite(df, numeric):
    """inf and -inf as missing values: validate_data lets them through only with validation.infinite: missing."""
    import numpy as np

    if not numeric:
        return df
    df = df.copy()
    df[numeric] = df[numeric].replace([np.inf, -np.inf], np.nan)
    return df


# the largest float32: tree ensembles compute in float32, where a larger feature becomes infinite
FEATURE_LIMIT = 3.4028234663852886e38


def _out_of_range(features, numeric):
    import numpy as np

    return {
        c
        for c in numeric
        if c in features.columns and not (np.abs(features[c].to_numpy(dtype=float)) <= FEATURE_LIMIT).all()
    }


def check_feature_range(train_x, test_x, train, test, numeric):
    """Explain numeric features that came out NaN, infinite or beyond float32: numbers so large (about 1e154 and
    beyond) that their square overflows while they are scaled, or a value far outside the training range."""
    import numpy as np

    bad = [c for c in numeric if c in _out_of_range(train_x, numeric) | _out_of_range(test_x, numeric)]
    if not bad:
        return

    def largest(column):
        values = np.abs(np.concatenate([train[column].to_numpy(dtype=float), test[column].to_numpy(dtype=float)]))
        return values[np.isfinite(values)].max(initial=0)

    shown = ", ".join(f"'{c}' (largest magnitude {largest(c):.3g})" for c in bad[:5])
    raise StageError(
        STAGE,
        f"numeric column(s) hold values too large, or too far from the training rows' range, to become features: "
        f"{shown}; as features they are NaN, infinite or beyond 3.4e38 (the largest number the tree ensembles take)",
        "bring those columns to a smaller scale in the data (divide them, or take a logarithm), remove the "
        "outlying values, or leave the columns out with features.drop",
        "features",
    )


def with_custom_features(train, test, target, settings, root="."):
    """The parts with the user's feature function applied (features.custom), and what the registry records of it
    (file, function, sha256); the parts unchanged and None without one."""
    custom = settings.get("custom")
    if not custom:
        return train, test, None
    function = load_function(custom["file"], custom["function"], root, STAGE)
    raw = feature_columns(train, target, settings["drop"])
    parts = []
    for part in (train, test):
        out = apply_custom(function, part[raw], STAGE)
        out[target] = part[target].to_numpy()
        parts.append(out)
    recorded = {**custom, "sha256": file_sha256(f"{root}/{custom['file']}"), "input_columns": raw}
    return parts[0], parts[1], recorded


LEFT_OUT = ("identifier", "empty")  # kinds that never become features


def fit_transform(train, test, target, settings, declared=None, seed=0, root=".", task=None):
    """Fit on train, transform both; returns (preprocessor, train_features, test_features, schema).

    declared: validation.dtypes; seed: the target encoder's folds; root: where features.custom's file is; task: the
    task validation found (binary, multiclass, regression), which the target encoders are told."""
    raw_train = train
    train, test, custom = with_custom_features(train, test, target, settings, root)
    if custom:
        settings = {**settings, "drop": []}  # features.drop named raw columns, gone before the function ran
    kinds = column_kinds(train, target, settings, declared)
    if len(train) < TARGET_ENCODING_MIN_ROWS:
        # the target encoder cross-fits in 5 folds: too few rows for that, one-hot encode the codes instead
        too_few = {
            "many_valued": Kind("category", "one-hot: too few rows to target-encode"),
            "integer_code": Kind("numeric", "numbers: too few rows to target-encode"),
        }
        kinds = {c: too_few.get(k.kind, k) for c, k in kinds.items()}
    kinds = codes_or_numbers(train, target, kinds, task, seed)
    of_kind = {kind: [c for c, k in kinds.items() if k.kind == kind] for kind in KINDS}
    # a whole-number code is a number too: it is imputed and scaled with them, and target-encoded besides
    numeric = [c for c, k in kinds.items() if k.kind in ("numeric", "integer_code")]
    preprocessor = make_preprocessor(
        numeric,
        of_kind["category"],
        settings["numeric_imputer"],
        settings["scale"],
        settings["max_categories"],
        many_valued=of_kind["many_valued"],
        dates={c: (kinds[c].date_format, kinds[c].has_time) for c in of_kind["date"]},
        text=of_kind["text"],
        text_max_features=settings.get("text_max_features", 100),
        seed=seed,
        codes=of_kind["integer_code"],
        task=task,
        missing_indicators=settings.get("missing_indicators", False),
    )
    # identifiers are left out (a model cannot learn from a value it sees once), and so are empty columns
    columns = [c for c, k in kinds.items() if k.kind not in LEFT_OUT]
    if not columns:
        raise StageError(
            STAGE,
            f"every feature column looks like an identifier: {', '.join(kinds)}",
            "declare the columns' kinds (validation.dtypes), or supply other columns",
            "features",
        )
    train_x = preprocessor.fit_transform(finite(train[columns], numeric), encodable(train[target], task))
    test_x = preprocessor.transform(finite(test[columns], numeric))
    check_feature_range(train_x, test_x, train, test, numeric)
    train_x[target] = train[target].to_numpy()
    test_x[target] = test[target].to_numpy()
    # what a client sends: numbers, or text (categories, dates as text, free text); with feature code, its input
    inputs = custom["input_columns"] if custom else columns
    source = raw_train if custom else train
    schema = {
        "target": target,
        "columns": {
            c: ("numeric" if (_is_number(source[c]) if custom else c in numeric) else "categorical") for c in inputs
        },
        "dtypes": {c: str(source[c].dtype) for c in inputs},
        "features_out": [str(c) for c in preprocessor.get_feature_names_out()],
        # each column's kind, why, and (dates) the format its text parses with
        "kinds": {c: {k: v for k, v in asdict(kind).items() if v not in (None, False)} for c, kind in kinds.items()},
        "left_out": {c: kinds[c].reason for c in kinds if kinds[c].kind in LEFT_OUT},
    }
    if custom:
        schema["custom"] = {key: custom[key] for key in ("file", "function", "sha256")}
    return preprocessor, train_x, test_x, schema


def encodable(y, task=None):
    """The target as the target encoder takes it: numbers without gaps (regression), or labels as text (one type;
    an integer-coded class stays a class)."""
    if _is_number(y) and task not in ("binary", "multiclass"):
        return y.fillna(y.median()) if y.notna().any() else y.fillna(0)
    import pandas as pd

    return pd.Series([str(value) for value in y], index=y.index, dtype=object)  # pandas 3's astype(str) keeps NaN


def _is_number(values):
    from pandas.api import types

    return types.is_numeric_dtype(values) and not types.is_bool_dtype(values)


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        report = read_json(input.report)
        train, test = read_table(input.train), read_table(input.test)
        logger.info("read %d train and %d test rows x %d columns", len(train), len(test), train.shape[1])
        preprocessor, train_x, test_x, schema = fit_transform(
            train, test, report["target"], params.features, params.dtypes, params.seed, task=report["task"]
        )
        schema["task"] = report["task"]
        counts = Counter(kind["kind"] for kind in schema["kinds"].values())
        logger.info(
            "columns: %s -> %d features",
            ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items())),
            len(schema["features_out"]),
        )
        for column, kind in schema["kinds"].items():
            if kind["kind"] not in ("numeric", "category"):
                logger.info("column %s: %s (%s)", column, kind["kind"], kind["reason"])
        indicators = [name for name in schema["features_out"] if name.startswith("missingindicator_")]
        if indicators:
            logger.info("missing-value indicators for %d column(s) with missing values", len(indicators))
        write_joblib(preprocessor, output.preprocessor)
        write_table(train_x, output.train)
        write_table(test_x, output.test)
        write_json(schema, output.schema)
