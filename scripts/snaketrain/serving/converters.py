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
    """The dtype of the estimator graph's features: float64 for scikit-learn's tree regressors (DOUBLE_TREES) and
    the models that compute in float64; float32 for the other trees (skl2onnx writes classifier ensembles for
    float32), as registered families may ask."""
    import numpy as np

    if class_path(estimator) in DOUBLE_TREES:
        return np.float64
    return np.float32 if rounds_to_float32(estimator) or _is_tree_model(estimator) else np.float64


def rounds_to_float32(estimator):
    """Whether the estimator compares its features as float32 values: scikit-learn's trees and forests cast X to
    float32 (histogram gradient boosting does not), as registered families may."""
    from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import BaseHistGradientBoosting

    return class_path(estimator) in FLOAT32 or (
        _is_tree_model(estimator) and not isinstance(estimator, BaseHistGradientBoosting)
    )


def _is_tree_model(estimator):
    from sklearn.ensemble import BaseEnsemble
    from sklearn.ensemble._gb import BaseGradientBoosting
    from sklearn.ensemble._hist_gradient_boosting.gradient_boosting import BaseHistGradientBoosting
    from sklearn.tree import BaseDecisionTree

    # histogram gradient boosting classifiers compute in float64 and are converted on float32 all the same: the
    # check on rows refuses one where that flips a prediction
    return isinstance(estimator, BaseDecisionTree | BaseGradientBoosting | BaseHistGradientBoosting) or (
        isinstance(estimator, BaseEnsemble) and isinstance(getattr(estimator, "estimator", None), BaseDecisionTree)
    )


_HGB = "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoosting"


@register(_HGB + "Classifier")
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


# ---- tree regressors that answer within 1e-6 relative

# A regression must agree with its library within 1e-6 relative; a tree ensemble written with float thresholds,
# leaf values and sums (TreeEnsembleRegressor of ai.onnx.ml 1) misses that by 1e-5 to 1e-3 on predictions near zero
# for models that compute in double (scikit-learn, LightGBM). Their converters are wrapped to write ai.onnx.ml 3's
# *_as_tensor attributes in double: exact thresholds, leaf values and sums; the operator's output is float (the
# standard says so), so one rounding of the sum remains, at most 6e-8 relative.
DOUBLE_TREES = {
    "sklearn.tree._classes.DecisionTreeRegressor",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._forest.ExtraTreesRegressor",
    "sklearn.ensemble._gb.GradientBoostingRegressor",
    _HGB + "Regressor",
    "lightgbm.sklearn.LGBMRegressor",
}
_DOUBLE_ATTRIBUTES = ("nodes_values", "target_weights", "base_values")
_DOUBLE = 11  # onnx.TensorProto.DOUBLE


def rewriting_tree_regressors(convert, rewrite):
    """convert (an skl2onnx-style converter) with each TreeEnsembleRegressor node it writes passed through
    rewrite(scope, operator, add_node, op_type, inputs, outputs, op_domain, op_version, attrs)."""

    def convert_rewritten(scope, operator, container):
        add_node = container.add_node

        def add_node_rewritten(op_type, inputs, outputs, op_domain="", op_version=None, **attrs):
            if op_type != "TreeEnsembleRegressor":
                return add_node(op_type, inputs, outputs, op_domain=op_domain, op_version=op_version, **attrs)
            return rewrite(scope, operator, add_node, op_type, inputs, outputs, op_domain, op_version, attrs)

        container.add_node = add_node_rewritten
        try:
            convert(scope, operator, container)
        finally:
            del container.add_node  # the class's own method again

    convert_rewritten.snaketrain_rewritten = True
    return convert_rewritten


def _in_double(scope, operator, add_node, op_type, inputs, outputs, op_domain, op_version, attrs):
    """On a double input, the TreeEnsembleRegressor gets its thresholds, leaf values and base values as double
    tensors (ai.onnx.ml 3), and a Cast of its float output to the double the graph declares."""
    from skl2onnx.common.data_types import DoubleTensorType

    if not isinstance(operator.inputs[0].type, DoubleTensorType):
        return add_node(op_type, inputs, outputs, op_domain=op_domain, op_version=op_version, **attrs)
    _as_double_tensors(attrs)
    summed = scope.get_unique_variable_name("tree_sum")
    add_node(op_type, inputs, summed, op_domain=op_domain, op_version=3, **attrs)
    return add_node("Cast", summed, outputs, to=_DOUBLE, name=scope.get_unique_operator_name("Cast"))


@register("sklearn.tree._classes.DecisionTreeRegressor")
@register("sklearn.ensemble._forest.RandomForestRegressor")
@register("sklearn.ensemble._forest.ExtraTreesRegressor")
@register("sklearn.ensemble._gb.GradientBoostingRegressor")
def _double_tree_regressor(cls):
    """skl2onnx's own converter of cls, writing its trees in double (_in_double)."""
    from skl2onnx._supported_operators import sklearn_operator_name_map
    from skl2onnx.common._registration import _converter_pool, register_converter

    alias = sklearn_operator_name_map[cls]
    registered = _converter_pool[alias]
    if getattr(registered._fct, "snaketrain_rewritten", False):
        return
    convert = rewriting_tree_regressors(registered._fct, _in_double)
    register_converter(alias, convert, overwrite=True, options=registered.get_allowed_options())


@register(_HGB + "Regressor")
def _hist_gradient_boosting_regressor(cls):
    _hist_gradient_boosting(cls)
    _double_tree_regressor(cls)


def _as_double_tensors(attrs):
    """Replace the float attributes of a TreeEnsembleRegressor by their double *_as_tensor twins; the converters
    computed them in double (numpy arrays, Python floats) before onnx would have stored them as floats."""
    import numpy as np
    from onnx.numpy_helper import from_array

    for key in _DOUBLE_ATTRIBUTES:
        if key in attrs:
            values = np.asarray(attrs.pop(key), dtype=np.float64).ravel()
            attrs[f"{key}_as_tensor"] = from_array(values, name=f"{key}_as_tensor")


def _base_in_first_tree(scope, operator, add_node, op_type, inputs, outputs, op_domain, op_version, attrs):
    """XGBoost sums in float32, starting from the base score: base + tree 0 + tree 1 + ...; ONNX Runtime sums the
    trees in float32 from zero and adds the base last, which rounds differently (2e-6 relative apart). Folding the
    base into the first tree's leaves (float32(base + leaf), the very sum XGBoost's first addition rounds to) makes
    ONNX Runtime's additions XGBoost's, in the same order."""
    import numpy as np

    base = attrs.get("base_values")
    if base is not None and len(base) == 1 and attrs.get("n_targets", 1) == 1 and attrs.get("target_weights"):
        trees = np.asarray(attrs["target_treeids"])
        weights = np.asarray(attrs["target_weights"], dtype=np.float32)
        first = trees == trees.min()
        weights[first] = weights[first] + np.float32(base[0])
        attrs["target_weights"] = weights.astype(np.float64).tolist()
        attrs["base_values"] = [0.0]
    return add_node(op_type, inputs, outputs, op_domain=op_domain, op_version=op_version, **attrs)


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

    _register_booster(cls, rewriting_tree_regressors(convert_by_position, _base_in_first_tree))


@register("lightgbm.sklearn.LGBMClassifier", float32=True)
def _lightgbm(cls):
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

    _register_booster(cls, constant_leaves_only(convert_lightgbm))


@register("lightgbm.sklearn.LGBMRegressor")
def _lightgbm_regressor(cls):
    """LightGBM compares and sums in double: its trees are written in double (_in_double)."""
    from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

    _register_booster(cls, rewriting_tree_regressors(constant_leaves_only(convert_lightgbm), _in_double))


def constant_leaves_only(convert):
    """LightGBM's converter, refusing a model with linear leaves (linear_tree=True): onnxmltools writes each leaf's
    constant and drops its linear model, so the graph would answer otherwise; scikit-learn serves such a model."""

    def convert_constant_leaves(scope, operator, container):
        if operator.raw_operator.get_params().get("linear_tree"):
            raise Unconvertible("LightGBM with linear_tree=True: the ONNX converter writes no linear leaves")
        convert(scope, operator, container)

    return convert_constant_leaves


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


def unthresholded(model):
    """The estimator whose graph is converted: the one inside a model with a tuned decision threshold
    (estimators.tune_threshold), whose labels fast_path then draws from the graph's probabilities with threshold_of;
    Unconvertible when the threshold is on decision values (the graph's scores are not scikit-learn's)."""
    from snaketrain import estimators

    rule = estimators.threshold_rule(model)
    if rule is None:
        return model
    if rule["response"] != "predict_proba":
        raise Unconvertible(f"its decision threshold is on {rule['response']} values, which the graph does not give")
    return estimators.inner_estimator(model)


def threshold_of(model):
    """(index of the positive class in classes_, index of the other, threshold) of a thresholded model, else None."""
    from snaketrain import estimators

    if not estimators.is_thresholded(model):
        return None
    classes = list(model.classes_)
    positive = classes.index(model.pos_label)
    return positive, 1 - positive, float(model.threshold)
