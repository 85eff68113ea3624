"""Real fitted models in real registries for the unit tests of inference and its users (no snakemake run):
a preprocessor fitted by build_features, a scikit-learn model trained on its output, published with
model_registry.publish and the metadata register_model records."""

import numpy as np
import pandas as pd

from snaketrain.registry import inference, model_registry
from snaketrain.stages.build_features import fit_transform

NAME = "toy"  # the registered model name the versions belong to
# n (10 whole numbers) stays a plain number: with more distinct values than max_categories it would be an
# integer code too, whose encoding the fast path leaves to scikit-learn
SETTINGS = {"drop": [], "numeric_imputer": "median", "scale": True, "max_categories": 10}


def rows(n=60, task="binary", seed=0):
    """Input rows as a user would score them: numeric x and n, categorical colour, target y."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    frame = pd.DataFrame(
        {"x": x, "n": rng.integers(0, 10, size=n), "colour": rng.choice(["red", "green", "blue"], size=n)}
    )
    frame["y"] = np.where(x > 0, "yes", "no") if task == "binary" else 3 * x + 1
    return frame


def publish_fitted(root, folder, task="binary", name=NAME):
    """Fit, train and publish one version of name in the registry at root; returns (version, training rows)."""
    from sklearn.linear_model import LinearRegression, LogisticRegression

    train = rows(task=task)
    preprocessor, features, _, schema = fit_transform(train, train, "y", SETTINGS)
    model = LogisticRegression() if task == "binary" else LinearRegression()
    model.fit(features.drop(columns="y"), train["y"])
    path = folder / f"{task}-pipeline.skops"
    inference.save_pipeline(inference.make_pipeline(preprocessor, model), path)
    metadata = {
        "model": "logistic_regression" if task == "binary" else "linear",
        "task": task,
        "metrics": {},
        "input_schema": {key: schema[key] for key in ("target", "columns", "dtypes")},
    }
    version, _ = model_registry.publish(root, {"pipeline.skops": path}, metadata, name)
    return version, train
