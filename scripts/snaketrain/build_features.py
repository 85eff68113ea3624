"""Preprocess and engineer features: a ColumnTransformer fitted on the training split only."""

from snaketrain.preprocessing import as_text, make_preprocessor
from snaketrain.stage_log import StageError, stage_logging
from snaketrain.table_io import read_json, read_table, write_joblib, write_json, write_table

STAGE = "build_features"


def column_kinds(df, target, drop):
    """Feature columns split into numeric and categorical, in their original order."""
    from pandas.api import types

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
    numeric = [c for c in features if types.is_numeric_dtype(df[c]) and not types.is_bool_dtype(df[c])]
    categorical = [c for c in features if c not in numeric]
    return numeric, categorical


def finite(df, numeric):
    """inf and -inf as missing values: validate_data lets them through only with validation.infinite: missing."""
    import numpy as np

    if not numeric:
        return df
    df = df.copy()
    df[numeric] = df[numeric].replace([np.inf, -np.inf], np.nan)
    return df


def check_finite(train_x, test_x, inputs, numeric):
    """Explain features that came out NaN or infinite: numbers so large (beyond about 1e154) that their square
    overflows while they are scaled or imputed."""
    import numpy as np

    bad = [
        c
        for c in numeric
        if c in train_x.columns
        and not (
            np.isfinite(train_x[c].to_numpy(dtype=float)).all() and np.isfinite(test_x[c].to_numpy(dtype=float)).all()
        )
    ]
    if not bad:
        return
    magnitudes = {c: np.abs(inputs[c].to_numpy(dtype=float)) for c in bad[:5]}
    largest = ", ".join(
        f"'{c}' (largest magnitude {v[np.isfinite(v)].max(initial=0):.3g})" for c, v in magnitudes.items()
    )
    raise StageError(
        STAGE,
        f"numeric column(s) hold values too large to scale or impute: {largest}; their features came out NaN or "
        "infinite",
        "bring those columns to a smaller scale in the data (divide them, or take a logarithm), set "
        "features.scale: false, or leave them out with features.drop",
        "features",
    )


def fit_transform(train, test, target, settings):
    """Fit on train, transform both; returns (preprocessor, train_features, test_features, schema)."""
    numeric, categorical = column_kinds(train, target, settings["drop"])
    preprocessor = make_preprocessor(
        numeric, categorical, settings["numeric_imputer"], settings["scale"], settings["max_categories"]
    )
    columns = numeric + categorical
    train_x = preprocessor.fit_transform(as_text(finite(train[columns], numeric), categorical))
    test_x = preprocessor.transform(as_text(finite(test[columns], numeric), categorical))
    check_finite(train_x, test_x, train[columns], numeric)
    train_x[target] = train[target].to_numpy()
    test_x[target] = test[target].to_numpy()
    schema = {
        "target": target,
        "columns": {c: ("numeric" if c in numeric else "categorical") for c in columns},
        "dtypes": {c: str(train[c].dtype) for c in columns},
        "features_out": [str(c) for c in preprocessor.get_feature_names_out()],
    }
    return preprocessor, train_x, test_x, schema


def run(input, output, params, log, threads=1):
    with stage_logging(log[0], STAGE, input) as logger:
        report = read_json(input.report)
        train, test = read_table(input.train), read_table(input.test)
        logger.info("read %d train and %d test rows x %d columns", len(train), len(test), train.shape[1])
        preprocessor, train_x, test_x, schema = fit_transform(train, test, report["target"], params.features)
        schema["task"] = report["task"]
        numeric = sum(kind == "numeric" for kind in schema["columns"].values())
        logger.info(
            "%d numeric and %d categorical columns -> %d features",
            numeric,
            len(schema["columns"]) - numeric,
            len(schema["features_out"]),
        )
        write_joblib(preprocessor, output.preprocessor)
        write_table(train_x, output.train)
        write_table(test_x, output.test)
        write_json(schema, output.schema)
