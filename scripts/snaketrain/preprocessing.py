"""The feature preprocessor: how it is built (build_features fits it) and how it is applied to new rows.

Its first step turns categorical values into text, whatever dtype the reader chose, so that training
(build_features) and inference (predict, the gate, the service, any tool that loads the registered Pipeline) hand
the encoders the same representation. The step is a FunctionTransformer of the module-level function as_text, so
that the registered Pipeline predicts from the raw input columns and is stored with skops (which loads a function
only when it is named in a trusted list: inference.TRUSTED_TYPES).
"""


def make_preprocessor(
    numeric,
    categorical,
    numeric_imputer,
    scale,
    max_categories,
    many_valued=(),
    dates=None,
    text=(),
    text_max_features=100,
    seed=0,
    codes=(),
    task=None,
    missing_indicators=False,
):
    """The preprocessor for the columns of each kind (column_kinds): numbers imputed and scaled; few-valued
    categories one-hot encoded; many-valued ones target-encoded (scikit-learn's TargetEncoder, cross-fitted
    inside the training part); whole-number codes (codes, also in numeric) target-encoded as well, as features
    code__<column>; dates (column -> (format, has_time)) as calendar features; free text as a capped TF-IDF of its
    words. Every step is scikit-learn's, or a module-level function of this module, so the fitted Pipeline is
    stored with skops and loads without running code from a file.

    task (binary, multiclass, regression) is what the target encoders are told the target is: a regression target
    stays continuous whatever its dtype (integer prices), an integer class label stays a class; None lets them
    infer it. missing_indicators: a numeric column with missing values in the training part gains a 0/1 feature
    missingindicator_<column>, and a missing category is a category of its own ("missing"), so that a model can
    learn what a missing value means (never delinquent, no pool) rather than see the median or the mode."""
    import numpy as np
    from sklearn.compose import ColumnTransformer
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.impute import SimpleImputer
    from sklearn.model_selection import KFold
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler, TargetEncoder

    dates = dict(dates or {})

    target_type = TARGET_TYPES.get(task, "auto")

    def numbers(strategy, indicate=False):
        imputer = SimpleImputer(strategy=strategy, keep_empty_features=True, add_indicator=indicate)
        return Pipeline([("impute", imputer)] + ([("scale", StandardScaler())] if scale else []))

    if missing_indicators:
        category_imputer = SimpleImputer(strategy="constant", fill_value=MISSING_CATEGORY, keep_empty_features=True)
    else:
        category_imputer = SimpleImputer(strategy="most_frequent", keep_empty_features=True)
    categorical_steps = [
        ("impute", category_imputer),
        (
            "encode",
            OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=max_categories, sparse_output=False),
        ),
    ]
    branches = [
        ("numeric", numbers(numeric_imputer, missing_indicators), list(numeric)),
        ("categorical", Pipeline(categorical_steps), list(categorical)),
    ]
    if many_valued:
        # missing is a category of its own to the target encoder; unseen values get the target's mean
        folds = KFold(n_splits=5, shuffle=True, random_state=seed)  # seeded: the same features every run
        target = Pipeline([("encode", TargetEncoder(target_type=target_type, cv=folds))])
        branches.append(("many_valued", target, list(many_valued)))
    if codes:
        # the same numbers as codes: missing is a code of its own, an unseen value gets the target's mean; in a
        # ColumnTransformer of its own so that its features are named code__<column>, apart from the number's
        folds = KFold(n_splits=5, shuffle=True, random_state=seed)
        encoder = TargetEncoder(target_type=target_type, cv=folds)
        branches.append(("codes", ColumnTransformer([("code", encoder, list(codes))]), list(codes)))
    if dates:
        calendar = FunctionTransformer(
            calendar_features,
            kw_args={
                "formats": {c: fmt for c, (fmt, _) in dates.items()},
                "times": {c: t for c, (_, t) in dates.items()},
            },
            feature_names_out=calendar_feature_names,
        )
        branches.append(("dates", Pipeline([("calendar", calendar), ("numbers", numbers("median"))]), list(dates)))
    columns = ColumnTransformer(branches, verbose_feature_names_out=False, sparse_threshold=0)
    as_text_columns = [*categorical, *many_valued, *text]
    text_step = FunctionTransformer(as_text, kw_args={"categorical": as_text_columns}, feature_names_out="one-to-one")
    if not text:
        return Pipeline([("as_text", text_step), ("columns", columns)]).set_output(transform="pandas")
    # The TF-IDF vectoriser has no pandas output: every other part is set to give DataFrames, then the text
    # branches join; the ColumnTransformer still names its output (its own set_output wraps what the branches give).
    text_step.set_output(transform="pandas")
    columns.set_output(transform="pandas")
    for column in text:
        # a column of its own, its features named text_<column>__<word>, so that a word never clashes with a column
        words = Pipeline(
            [
                ("fill", FunctionTransformer(filled_text, feature_names_out="one-to-one")),
                ("tfidf", TfidfVectorizer(max_features=text_max_features, min_df=2, dtype=np.float64)),
            ]
        )
        branches.append(
            (f"text_{column}", ColumnTransformer([(f"text_{column}", words, column)], sparse_threshold=0), [column])
        )
    columns.set_params(transformers=branches)
    return Pipeline([("as_text", text_step), ("columns", columns)])


MISSING_CATEGORY = "missing"  # a missing category's value, with features.missing_indicators
# the target encoders' target_type for each task validation found
TARGET_TYPES = {"regression": "continuous", "binary": "binary", "multiclass": "multiclass"}


def calendar_features(df, formats, times):
    """Each date column as year, month, day, day of week, hour (when the values carry a time) and days since
    1970-01-01: text parsed in the format recorded at training (ISO 8601 for datetime values), unparseable values
    missing."""
    import pandas as pd

    out = {}
    for column, fmt in formats.items():
        values = df[column]
        if not pd.api.types.is_datetime64_any_dtype(values):
            values = pd.to_datetime(
                values.astype("string"), format=fmt if fmt != "ISO8601" else "ISO8601", errors="coerce"
            )
        if getattr(values.dt, "tz", None) is not None:
            values = values.dt.tz_convert(None)
        parts = {
            "year": values.dt.year,
            "month": values.dt.month,
            "day": values.dt.day,
            "weekday": values.dt.day_of_week,
        }
        if times.get(column):
            parts["hour"] = values.dt.hour
        parts["days"] = (values - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
        for part, series in parts.items():
            out[f"{column}_{part}"] = series.astype("float64").to_numpy()
    return pd.DataFrame(out, index=df.index)


def calendar_feature_names(transformer, input_features):
    """The names calendar_features gives its columns (FunctionTransformer's feature_names_out)."""
    times = transformer.kw_args["times"]
    names = []
    for column in input_features:
        parts = ["year", "month", "day", "weekday"] + (["hour"] if times.get(column) else []) + ["days"]
        names += [f"{column}_{part}" for part in parts]
    return names


def filled_text(values):
    """Free text with missing values as empty text, for the TF-IDF vectoriser."""
    return values.where(values.notna(), "").astype(str)


def as_text(df, categorical):
    """The rows with each categorical column as text, so that imputation and encoding see the same thing at fit and
    at predict time. Missing values (null, NaN, and blank text: what a form or a JSON client sends for "no value")
    become NaN, which the imputer fills whatever the batch holds (an all-None column would pass it untouched)."""
    if not categorical:
        return df
    df = df.copy()
    for column in categorical:
        # object dtype also when every value is missing: the encoders compare it with the text they learnt
        df[column] = df[column].astype(object).map(_text_or_nan).astype(object)
    return df


def _text_or_nan(value):
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return float("nan")
    text = str(value)
    return text if text.strip() else float("nan")


def user_features(df, module, function):
    """The user's feature function (features.custom) on the rows, for a Pipeline that runs it itself: the MLflow
    model directory, where the user's file travels beside this module under the importable name module. Imported
    by module and function name when called, never stored: the Pipeline's file holds only these two names (a
    FunctionTransformer's kw_args). As custom_features.apply does: the function gets a copy, the rows keep their
    index."""
    import importlib

    out = getattr(importlib.import_module(module), function)(df.copy())
    out.index = df.index
    return out


def transform(preprocessor, df, schema):
    """Apply a fitted preprocessor to new rows with the input columns recorded in its schema."""
    # in the order it was fitted with: the recorded schema's JSON keys are sorted, and the column selection of
    # a fitted ColumnTransformer is positional
    return preprocessor.transform(df[list(preprocessor.feature_names_in_)])
