"""Tree regressors (scikit-learn's, XGBoost, LightGBM) on the fast path: agreement with scikit-learn and speed, on bench/serve.py's generated regression
table (text columns and missing values). Each model is registered in a scratch registry, its fast path built as the
service builds it (checked on the test part and the probe rows), then compared with scikit-learn's Pipeline on the
test part three times over, and timed: the fast path from JSON values (feeds + ONNX Runtime) against
Pipeline.predict on a DataFrame, median of repeated calls.

    python bench/tree_regressors.py
"""

import json
import tempfile
from pathlib import Path

# bench/ is on sys.path: these scripts run as `python bench/<name>.py`
import serve  # noqa: E402  (bench/serve.py: the generated tables)


def models():
    from sklearn.ensemble import (
        ExtraTreesRegressor,
        GradientBoostingRegressor,
        HistGradientBoostingRegressor,
        RandomForestRegressor,
    )
    from sklearn.tree import DecisionTreeRegressor

    chosen = {
        "random forest (200 trees)": RandomForestRegressor(200, random_state=0, n_jobs=2),
        "extra trees (100)": ExtraTreesRegressor(100, random_state=0),
        "gradient boosting (100)": GradientBoostingRegressor(random_state=0),
        "histogram gradient boosting (100)": HistGradientBoostingRegressor(random_state=0),
        "decision tree": DecisionTreeRegressor(random_state=0),
    }
    try:  # the boosted families (make setup-boost)
        from lightgbm import LGBMRegressor
        from xgboost import XGBRegressor
    except ImportError:
        return chosen
    chosen["XGBoost (300 trees, depth 6)"] = XGBRegressor(n_estimators=300, max_depth=6, random_state=0, n_jobs=1)
    chosen["LightGBM (300 trees)"] = LGBMRegressor(n_estimators=300, random_state=0, n_jobs=1, verbose=-1)
    return chosen


def main():
    import numpy as np
    import pandas as pd

    from snaketrain.registry import inference, model_registry
    from snaketrain.serving import fast_path
    from snaketrain.serving.feeds import rows_feeds

    print("| model | engine | worst relative difference | 1 row: ONNX / scikit-learn | 100 rows: ONNX / scikit-learn |")
    print("|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        for index, (label, model) in enumerate(models().items()):
            name = f"regression_{index}"
            version, test = serve.publish_generated(scratch / "registry", scratch, name, model, "regression")
            model_registry.promote(scratch / "registry", version, name)
            loaded = inference.load_production(scratch / "registry", name)
            fast = fast_path.build(loaded, check_rows=test)
            if not fast.fast:
                print(f"| {label} | scikit-learn ({fast.fallback_reason}) | | | |")
                continue
            checked, _ = inference.check_input(pd.concat([test] * 3), loaded.input_schema, stage="bench")
            columns = list(loaded.pipeline.feature_names_in_)
            reference = loaded.pipeline.predict(checked[columns])
            values, _ = fast.predict_frame(checked)
            worst = np.max(np.abs(values - reference) / np.maximum(np.abs(reference), 1e-12))
            cells = []
            for n in (1, 100):
                split = json.loads(test.head(n).to_json(orient="split", index=False))
                rows = checked.head(n)[columns]
                ours = serve.median_ms(
                    lambda split=split, fast=fast: fast.predict_feeds(  # the service's path from JSON values
                        rows_feeds(fast.plan, split["columns"], split["data"])
                    ),
                    300,
                )
                theirs = serve.median_ms(lambda rows=rows, pipeline=loaded.pipeline: pipeline.predict(rows), 30)
                cells.append(f"{ours:.3f} / {theirs:.2f} ms ({theirs / ours:.0f}x)")
            print(f"| {label} | {fast.engine} | {worst:.1e} on {len(reference)} rows | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
