"""Preprocess and engineer features: a ColumnTransformer fitted on the training split only."""

from snaketrain.preprocessing import make_preprocessor
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


def fit_transform(train, test, target, settings):
    """Fit on train, transform both; returns (preprocessor, train_features, test_features, schema)."""
    numeric, categorical = column_kinds(train, target, settings["drop"])
    preprocessor = make_preprocessor(
        numeric, categorical, settings["numeric_imputer"], settings["scale"], settings["max_categories"]
    )
    columns = numeric + categorical
    train_x = preprocessor.fit_transform(finite(train[columns], numeric))
    test_x = preprocessor.transform(finite(test[columns], numeric))
    check_feature_range(train_x, test_x, train, test, numeric)
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
