"""The fast path on users' tables (issue 24): dates and free text stay on ONNX Runtime, their features computed in
Python around the graph, with scikit-learn's answers whether the rows come as JSON values or as a DataFrame."""

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from snaketrain.preprocessing import calendar_features
from snaketrain.registry import inference
from snaketrain.serving import fast_path
from snaketrain.serving.feeds import rows_feeds
from snaketrain.serving.plan import DateColumn, FreeTextColumn
from snaketrain.stages.build_features import fit_transform
from tests.tables import customer_table

pytest.importorskip("onnxruntime", reason="the service's requirements (requirements-serve.txt) are not installed")
SETTINGS = {"drop": [], "numeric_imputer": "median", "scale": True, "max_categories": 20, "text": ["comment"]}


def served(model, task, table=None, target="churned"):
    table = customer_table(n=1500) if table is None else table
    train, test = table.iloc[:1200], table.iloc[1200:]
    preprocessor, features, _, schema = fit_transform(train, test, target, SETTINGS)
    model.fit(features.drop(columns=target), train[target])
    metadata = {"task": task, "input_schema": {key: schema[key] for key in ("target", "columns", "dtypes")}}
    loaded = inference.LoadedModel("v1", metadata, inference.make_pipeline(preprocessor, model))
    rows = test.drop(columns=[target, *schema["left_out"]])
    return fast_path.build(loaded, check_rows=rows), loaded, rows


def json_rows(rows):
    split = json.loads(rows.to_json(orient="split", index=False))
    return split["columns"], split["data"]


@pytest.mark.parametrize("model", [LogisticRegression(max_iter=1000), RandomForestClassifier(60, random_state=0)])
def test_a_date_and_free_text_stay_on_onnx_runtime_with_scikit_learns_answers(model):
    predictor, loaded, rows = served(model, "binary")
    assert predictor.engine == "onnxruntime", predictor.fallback_reason
    assert [step["runs_in"] for step in predictor.steps()] == ["python", "python", "onnxruntime"]
    assert predictor.steps()[0]["step"] == "calendar features of signup (%d/%m/%Y)"
    expected_labels = loaded.pipeline.predict(rows)
    expected_proba = loaded.pipeline.predict_proba(rows)
    feeds = rows_feeds(predictor.plan, *json_rows(rows))
    assert feeds is not None  # every value of the test part takes the fast path from JSON
    labels, proba = predictor.predict_feeds(feeds, probabilities=True)
    assert list(labels) == list(expected_labels)
    np.testing.assert_allclose(proba, expected_proba, atol=1e-5)
    checked, _ = inference.check_input(rows, loaded.input_schema, stage="serve")
    labels, proba = predictor.predict_frame(checked, probabilities=True)
    assert list(labels) == list(expected_labels)
    np.testing.assert_allclose(proba, expected_proba, atol=1e-5)


def test_a_regression_on_a_datetime_column_with_times_stays_on_onnx_runtime():
    table = customer_table(n=1500).drop(columns=["churned"])
    rng = np.random.default_rng(3)
    table["signup"] = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 400 * 86400, len(table)), unit="s")
    table["spend"] = table["usage"].fillna(10) * 2 + table["signup"].dt.hour + rng.normal(size=len(table))
    predictor, loaded, rows = served(HistGradientBoostingRegressor(random_state=0), "regression", table, "spend")
    assert predictor.engine == "onnxruntime", predictor.fallback_reason
    assert predictor.plan.dates[0].has_time and predictor.plan.dates[0].fmt == "ISO8601"
    sent = rows.assign(signup=rows["signup"].astype(str))  # as a client writes a timestamp: 2022-03-04 10:11:12
    feeds = rows_feeds(predictor.plan, *json_rows(sent))
    assert feeds is not None
    values, _ = predictor.predict_feeds(feeds)
    np.testing.assert_allclose(values, loaded.pipeline.predict(rows), rtol=1e-6)


@pytest.mark.parametrize(
    ("fmt", "has_time", "values"),
    [
        ("%d/%m/%Y", False, ["31/05/2022", "5/1/2023", "01/01/1970", "29/02/2023", "31/05/2022 ", "2022-05-31", ""]),
        ("%Y-%m-%d %H:%M", True, ["2022-05-31 23:59", "2022-05-31 7:05", "1600-01-01 00:00", "2300-01-01 00:00"]),
        (
            "ISO8601",
            True,
            ["2022-05-31", "2022-05-31T10:11:12", "2022-05-31 10:11:12.123456", "2022-05-31T10:11:12+02:00"]
            + ["2022-05-31T10:11:12Z", "20220531", "2022-W22-2", "not a date"],
        ),
    ],
)
def test_a_date_parsed_in_python_gives_pandas_calendar_features_or_is_left_to_pandas(fmt, has_time, values):
    column = DateColumn("d", fmt, has_time)
    for value in [*values, None, 20220531]:
        ours = column.features(value)
        if ours is None:  # the frame path runs calendar_features itself
            continue
        theirs = calendar_features(pd.DataFrame({"d": [value]}), {"d": fmt}, {"d": has_time}).iloc[0].to_numpy()
        np.testing.assert_array_equal(np.array(ours, dtype=np.float64), theirs, err_msg=repr(value))
    assert column.features(None) is not None and column.features(20220531) is None


def test_tf_idf_in_python_gives_the_vectorisers_values_bit_for_bit():
    texts = ["the app is slow", "Café déjà vu, CAFÉ!", "slow slow slow app", "", "naïve façade team team report"] * 3
    vectorizer = TfidfVectorizer(max_features=10, min_df=2).fit(texts)
    column = FreeTextColumn("c", vectorizer.build_analyzer(), vectorizer.vocabulary_, vectorizer.idf_)
    unseen = ["brand new words", "CAFÉ café app", ""]
    np.testing.assert_array_equal(column.matrix(texts + unseen), vectorizer.transform(texts + unseen).toarray())
