"""The prediction endpoints on a version with a date column, called as the Guard calls them (no HTTP): a value its
column cannot be read as (a day the calendar lacks, a non-number in a numeric column) is refused with 422 naming
the column and the value, on the fast path and on scikit-learn alike; missing values are not refused."""

import asyncio
import json
from types import SimpleNamespace

import orjson
import pytest
from sklearn.linear_model import LogisticRegression

from snaketrain.registry import inference
from snaketrain.stages.build_features import fit_transform
from tests.tables import customer_table

pytest.importorskip("onnxruntime", reason="the service's requirements (requirements-serve.txt) are not installed")
pytest.importorskip("starlette", reason="the service's requirements (requirements-serve.txt) are not installed")

from snaketrain.serving import endpoints, fast_path, payloads, scoring  # noqa: E402
from snaketrain.serving.follower import served  # noqa: E402

SETTINGS = {"drop": [], "numeric_imputer": "median", "scale": True, "max_categories": 20, "text": ["comment"]}


@pytest.fixture(scope="module")
def version():
    table = customer_table(n=600)
    train, test = table.iloc[:500], table.iloc[500:]
    preprocessor, features, _, schema = fit_transform(train, test, "churned", SETTINGS)
    model = LogisticRegression(max_iter=1000).fit(features.drop(columns="churned"), train["churned"])
    metadata = {
        "name": "churn",
        "task": "binary",
        "input_schema": {k: schema[k] for k in ("target", "columns", "dtypes")},
    }
    loaded = inference.LoadedModel("v1", metadata, inference.make_pipeline(preprocessor, model))
    rows = json.loads(test.drop(columns=["churned", *schema["left_out"]]).head(3).to_json(orient="records"))
    return loaded, rows


@pytest.fixture(scope="module", params=["auto", "sklearn"])
def version_served(request, version):
    loaded, rows = version
    predictor = fast_path.build(loaded, request.param)
    assert predictor.engine == ("onnxruntime" if request.param == "auto" else "scikit-learn"), predictor.fallback_reason
    return served(loaded, predictor), rows


def ask(endpoint, version_served, body):
    """(status, JSON answer) of a prediction endpoint for body."""
    service = SimpleNamespace(max_rows=10_000, sample=None)
    scope = {"type": "http", "method": "POST", "snaketrain.served": version_served}
    scope["snaketrain.content_type"] = b"application/json"
    sent = []

    async def receive():
        return {"type": "http.request", "body": orjson.dumps(body), "more_body": False}

    async def send(message):
        sent.append(message)

    asyncio.run(endpoint(service, scope, receive, send))
    return sent[0]["status"], orjson.loads(sent[1]["body"])


@pytest.mark.parametrize(
    ("column", "value", "kind"),
    [
        ("signup", "30/02/2022", "a date (%d/%m/%Y)"),
        ("signup", "soon", "a date (%d/%m/%Y)"),
        ("usage", "a lot", "numeric"),
    ],
)
@pytest.mark.parametrize("endpoint", ["/predict", "/invocations"])
def test_a_value_its_column_cannot_be_read_as_is_refused_naming_column_and_value(
    version_served, endpoint, column, value, kind
):
    current, rows = version_served
    sent = [rows[0], {**rows[1], column: value}]
    body = sent if endpoint == "/predict" else {"dataframe_records": sent}
    status, answer = ask(endpoints.DIRECT[endpoint], current, body)
    assert status == 422, answer
    assert answer["error_code"] == "INVALID_INPUT"
    assert answer["problems"] == [f"column '{column}' must be {kind} but holds '{value}' (row 1)"]


@pytest.mark.parametrize("missing", [None, "", " "])
def test_a_missing_date_is_answered(version_served, missing):
    current, rows = version_served
    status, answer = ask(endpoints.predict_records, current, [rows[0], {**rows[1], "signup": missing}])
    assert status == 200, answer
    assert len(answer["predictions"]) == 2


class Sample:
    """What scoring offers the input sample (a monitoring Reservoir in the service)."""

    def __init__(self):
        self.records = []

    def add(self, records):
        self.records += records


def test_the_rows_answered_are_offered_to_the_input_sample_with_the_input_columns_only(version_served):
    current, rows = version_served
    sample = Sample()
    service = SimpleNamespace(max_rows=10_000, sample=sample)
    sent = [{**row, "note": "not an input column"} for row in rows]
    feeds, make_frame = payloads.records_table(sent, current.predictor.request_plan)
    labels, _ = scoring.predict(service, current, feeds, make_frame)
    assert len(labels) == len(rows)
    assert [record.keys() for record in sample.records] == [rows[0].keys()] * len(rows)
