"""Evidently's verdicts for bench/drift.py, run in Evidently's own venv (bench/work/evidently-venv).

usage: evidently-venv/bin/python bench/drift_evidently.py <cases.json>   (prints {case: {column: verdict}})
"""

import json
import sys
import warnings

import pandas as pd
from evidently.legacy.metric_preset import DataDriftPreset
from evidently.legacy.pipeline.column_mapping import ColumnMapping
from evidently.legacy.report import Report

warnings.filterwarnings("ignore")
NAMES = {
    "K-S p_value": "ks",
    "chi-square p_value": "chisquare",
    "Z-test p_value": "z",
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
}


def verdicts(ref, cur, numeric, text):
    report = Report(metrics=[DataDriftPreset()])
    mapping = ColumnMapping(target=None, prediction=None, numerical_features=numeric, categorical_features=text)
    report.run(reference_data=ref, current_data=cur, column_mapping=mapping)
    for metric in report.as_dict()["metrics"]:
        columns = metric["result"].get("drift_by_columns")
        if columns:
            return {
                name: {
                    "test": NAMES.get(c["stattest_name"], c["stattest_name"]),
                    "statistic": c["drift_score"],
                    "drifted": c["drift_detected"],
                }
                for name, c in columns.items()
            }
    raise SystemExit("no drift_by_columns in Evidently's report")


with open(sys.argv[1]) as fh:
    cases = json.load(fh)
print(
    json.dumps(
        {
            case["name"]: verdicts(
                pd.read_parquet(case["reference"]), pd.read_parquet(case["current"]), case["numeric"], case["text"]
            )
            for case in cases
        }
    )
)
