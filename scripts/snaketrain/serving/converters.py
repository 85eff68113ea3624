"""Which estimators the fast path converts to ONNX, looked up by class path.

skl2onnx converts scikit-learn's own estimators (linear models, forests, extra trees, gradient boosting, histogram
gradient boosting, k-NN, SVMs). Another family plugs in by registering a function under its class path that
teaches skl2onnx the class, e.g. for XGBoost through onnxmltools:

    @converters.register("xgboost.sklearn.XGBClassifier")
    def _xgboost(cls):
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
        from skl2onnx import update_registered_converter
        from skl2onnx.common.shape_calculator import calculate_linear_classifier_output_shapes
        update_registered_converter(cls, "XGBoostXGBClassifier", calculate_linear_classifier_output_shapes,
                                    convert_xgboost, options={"nocl": [True, False], "zipmap": [True, False]})

The function runs once per process, the first time a model of that class is converted; the service is not edited.
"""

CONVERTERS = {}  # class path -> function(cls) registering the class with skl2onnx
FLOAT32 = set()  # class paths of estimators that compute on float32 features (their ONNX input is float32)
_DONE = set()


class Unconvertible(Exception):
    """No converter for a part of the pipeline: the version is served by scikit-learn."""


def class_path(obj):
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def register(path, float32=False):
    """Decorator: the function teaching skl2onnx the estimator class at `path`; float32 when the estimator
    computes on float32 features (gradient-boosting libraries do)."""

    def add(function):
        CONVERTERS[path] = function
        if float32:
            FLOAT32.add(path)
        return function

    return add


def ensure(estimator):
    """Make skl2onnx able to convert estimator, or raise Unconvertible naming its class."""
    from skl2onnx._supported_operators import sklearn_operator_name_map

    cls, path = type(estimator), class_path(estimator)
    if path in CONVERTERS and path not in _DONE:
        CONVERTERS[path](cls)
        _DONE.add(path)
    if cls not in sklearn_operator_name_map:
        raise Unconvertible(f"no ONNX converter is registered for {path}")


def options(estimator):
    """skl2onnx options for the final estimator: plain probability arrays (no list of {class: probability})."""
    from sklearn.base import is_classifier

    return {"zipmap": False} if is_classifier(estimator) else {}


def input_dtype(estimator):
    """The features' dtype the estimator computes on: scikit-learn's trees and forests (but not histogram gradient
    boosting) cast them to float32, as registered families may; the others keep float64."""
    import numpy as np
    from sklearn.ensemble import BaseEnsemble
    from sklearn.ensemble._gb import BaseGradientBoosting
    from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import BaseHistGradientBoosting
    from sklearn.tree import BaseDecisionTree

    # skl2onnx writes tree ensembles for float32 features only; histogram gradient boosting computes in float64
    # and is converted on float32 all the same: the check on rows refuses it where that flips a prediction
    trees = isinstance(estimator, BaseDecisionTree | BaseGradientBoosting | BaseHistGradientBoosting) or (
        isinstance(estimator, BaseEnsemble) and isinstance(getattr(estimator, "estimator", None), BaseDecisionTree)
    )
    return np.float32 if trees or class_path(estimator) in FLOAT32 else np.float64


_HGB = "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoosting"


@register(_HGB + "Classifier")
@register(_HGB + "Regressor")
def _hist_gradient_boosting(cls):
    """skl2onnx 1.20 writes a leaf's missing-value direction as a Python bool, which protobuf refuses in an
    integer list: wrap its node writer so that it writes an int (the converter is skl2onnx's own)."""
    from skl2onnx.common import tree_ensemble

    add_node = tree_ensemble.add_node
    if getattr(add_node, "snaketrain_wrapped", False):
        return

    def add_node_with_int_flags(*args, nodes_missing_value_tracks_true=0, **kwargs):
        return add_node(*args, nodes_missing_value_tracks_true=int(nodes_missing_value_tracks_true), **kwargs)

    add_node_with_int_flags.snaketrain_wrapped = True
    tree_ensemble.add_node = add_node_with_int_flags


# ---- the boosted-tree families (make setup-boost), through onnxmltools (requirements-serve.txt)


@register("xgboost.sklearn.XGBRegressor", float32=True)
@register("xgboost.sklearn.XGBClassifier", float32=True)
@register("snaketrain.xgboost_labels.XGBLabelClassifier", float32=True)
def _xgboost(cls):
    from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost

    def convert_by_position(scope, operator, container):
        # onnxmltools reads features as f0, f1, ...: the booster's own names (the feature columns) are set aside
        # while it converts; the ONNX graph takes the features in the same order either way
        booster = operator.raw_operator.get_booster()
        names, booster.feature_names = booster.feature_names, None
        try:
            convert_xgboost(scope, operator, container)
        finally:
            booster.feature_names = names

    _register_booster(cls, convert_by_position)


@register("lightgbm.sklearn.LGBMRegressor", float32=True)
@register("lightgbm.sklearn.LGBMClassifier", float32=True)
def _lightgbm(cls):
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

    _register_booster(cls, convert_lightgbm)


def _register_booster(cls, converter):
    """Teach skl2onnx a boosted-tree class with its library's converter from onnxmltools."""
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )
    from sklearn.base import is_classifier

    if is_classifier(cls()):
        shapes, options = calculate_linear_classifier_output_shapes, {"nocl": [True, False], "zipmap": [True, False]}
    else:
        shapes, options = calculate_linear_regressor_output_shapes, None
    update_registered_converter(
        cls, f"Snaketrain{cls.__module__.split('.')[0]}{cls.__name__}", shapes, converter, options=options
    )
