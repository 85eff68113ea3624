"""The user's own feature code (features.custom): a function in a Python file of the project, DataFrame in and
DataFrame out, row by row, applied before the preprocessor in training, batch prediction and the service.

The function is imported from the project by the name the user declared, never from a model file; the file's
sha256 is recorded in the registered version, and a version whose file has changed since is refused, so that a
model never sees features computed by other code than the code it was trained with.
"""

import hashlib
import importlib.util
from pathlib import Path

from snaketrain.stage_log import StageError


def file_sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def module_name(sha256):
    """The name the user's file is imported by: one per content, so two versions of the file never share a module
    (the MLflow model directory copies the file under this name, beside the snaketrain modules)."""
    return f"snaketrain_custom_{sha256[:16]}"


def load_function(file, function, root=".", stage="build_features"):
    """The function `function` of the Python file `file` (relative to root), imported afresh."""
    path = Path(root) / file
    if not path.is_file():
        raise StageError(
            stage,
            f"the feature code file '{file}' does not exist",
            "set features.custom.file to a Python file of the project",
            "features.custom.file",
        )
    spec = importlib.util.spec_from_file_location(module_name(file_sha256(path)), path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # noqa: BLE001 - the user's file may raise anything while it is imported
        raise StageError(
            stage, f"importing {file} failed: {type(error).__name__}: {error}", f"fix {file}", "features.custom.file"
        ) from None
    found = getattr(module, function, None)
    if not callable(found):
        names = sorted(name for name in dir(module) if callable(getattr(module, name)) and not name.startswith("_"))
        raise StageError(
            stage,
            f"{file} has no function '{function}'",
            f"set features.custom.function to one of: {', '.join(names) or '(none)'}",
            "features.custom.function",
        )
    return found


def apply(function, rows, stage="build_features", where="features.custom"):
    """function(rows), checked: a DataFrame with one row per input row, in the same order."""
    import pandas as pd

    try:
        out = function(rows.copy())
    except Exception as error:  # noqa: BLE001 - the user's code may raise anything
        raise StageError(
            stage, f"your feature function failed: {type(error).__name__}: {error}", "fix the function", where
        ) from None
    if not isinstance(out, pd.DataFrame) or len(out) != len(rows):
        got = f"a DataFrame of {len(out)} rows" if isinstance(out, pd.DataFrame) else type(out).__name__
        raise StageError(
            stage,
            f"your feature function returned {got} for {len(rows)} rows",
            "return a DataFrame with one row per input row (add or change columns; do not drop or reorder rows)",
            where,
        )
    out.index = rows.index
    return out


def check_unchanged(recorded, root=".", stage="predict", version=None):
    """The recorded feature function, loaded, after checking its file still has the recorded sha256."""
    path = Path(root) / recorded["file"]
    what = f"version {version}" if version else "the model"
    if not path.is_file():
        raise StageError(
            stage,
            f"{what} was trained with the feature code in {recorded['file']}, which does not exist here",
            f"run from the project directory that holds {recorded['file']}",
            recorded["file"],
        )
    found = file_sha256(path)
    if found != recorded["sha256"]:
        raise StageError(
            stage,
            f"{what} was trained with another version of {recorded['file']} (sha256 {recorded['sha256'][:12]}..., "
            f"now {found[:12]}...): its features would differ from those it learnt on",
            "restore the file as it was, or run the pipeline to train and register a model with the new code",
            recorded["file"],
        )
    return load_function(recorded["file"], recorded["function"], root, stage)
