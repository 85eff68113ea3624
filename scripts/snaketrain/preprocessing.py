"""The feature preprocessor: how it is built (build_features fits it) and how it is applied to new rows.

Categorical values are turned into text first, whatever dtype the reader chose, so that training (build_features)
and inference (predict, the gate, the service) hand the preprocessor the same representation.
"""


def make_preprocessor(numeric, categorical, numeric_imputer, scale, max_categories):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

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
    transformer = ColumnTransformer(
        [("numeric", Pipeline(numeric_steps), numeric), ("categorical", Pipeline(categorical_steps), categorical)],
        verbose_feature_names_out=False,
    )
    return transformer.set_output(transform="pandas")


def as_text(df, categorical):
    # one representation for categorical values whatever dtype the reader chose, so that
    # imputation and encoding see the same thing at fit and at predict time
    if not categorical:
        return df
    df = df.copy()
    for column in categorical:
        df[column] = df[column].astype(object).where(df[column].notna(), None).map(lambda v: v if v is None else str(v))
    return df


def transform(preprocessor, df, schema):
    """Apply a fitted preprocessor to new rows with the input columns recorded in its schema."""
    columns = list(schema["columns"])
    categorical = [c for c, kind in schema["columns"].items() if kind == "categorical"]
    return preprocessor.transform(as_text(df[columns], categorical))
