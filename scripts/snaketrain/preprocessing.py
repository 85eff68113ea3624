"""The feature preprocessor: how it is built (build_features fits it) and how it is applied to new rows.

Its first step turns categorical values into text, whatever dtype the reader chose, so that training
(build_features) and inference (predict, the gate, the service, any tool that loads the registered Pipeline) hand
the encoders the same representation. The step is a FunctionTransformer of the module-level function as_text, so
that the registered Pipeline predicts from the raw input columns and is stored with skops (which loads a function
only when it is named in a trusted list: inference.TRUSTED_TYPES).
"""


def make_preprocessor(numeric, categorical, numeric_imputer, scale, max_categories):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

    numeric_steps = [("impute", SimpleImputer(strategy=numeric_imputer, keep_empty_features=True))]
    if scale:
        numeric_steps.append(("scale", StandardScaler()))
    categorical_steps = [
        ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
        (
            "encode",
            OneHotEncoder(handle_unknown="infrequent_if_exist", max_categories=max_categories, sparse_output=False),
        ),
    ]
    columns = ColumnTransformer(
        [("numeric", Pipeline(numeric_steps), numeric), ("categorical", Pipeline(categorical_steps), categorical)],
        verbose_feature_names_out=False,
    )
    text = FunctionTransformer(as_text, kw_args={"categorical": list(categorical)}, feature_names_out="one-to-one")
    return Pipeline([("as_text", text), ("columns", columns)]).set_output(transform="pandas")


def as_text(df, categorical):
    """The rows with each categorical column as text, so that imputation and encoding see the same thing at fit and
    at predict time. Missing values (null, NaN, and blank text: what a form or a JSON client sends for "no value")
    become NaN, which the imputer fills whatever the batch holds (an all-None column would pass it untouched)."""
    if not categorical:
        return df
    df = df.copy()
    for column in categorical:
        df[column] = df[column].astype(object).map(_text_or_nan)
    return df


def _text_or_nan(value):
    import pandas as pd

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return float("nan")
    text = str(value)
    return text if text.strip() else float("nan")


def transform(preprocessor, df, schema):
    """Apply a fitted preprocessor to new rows with the input columns recorded in its schema."""
    # in the order it was fitted with: the recorded schema's JSON keys are sorted, and the column selection of
    # a fitted ColumnTransformer is positional
    return preprocessor.transform(df[list(preprocessor.feature_names_in_)])
