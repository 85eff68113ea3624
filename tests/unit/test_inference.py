"""The inference module's fast check for the model service (numeric_matrix, numeric_records)."""

import numpy as np
import pandas as pd

from snaketrain import inference


def test_numeric_matrix_takes_only_what_check_input_would_accept_unchanged():
    schema = {"target": "y", "columns": {"b": "numeric", "a": "numeric"}, "dtypes": {}}
    matrix = inference.numeric_matrix(["a", "b", "extra"], [[1, 2.5, "x"], [None, 4, "y"]], schema)
    np.testing.assert_array_equal(matrix, [[2.5, 1.0], [4.0, np.nan]])  # the schema's order, null as missing
    records = inference.numeric_records([{"a": 1, "b": 2}], schema)
    np.testing.assert_array_equal(records, [[2.0, 1.0]])
    # anything else is for check_input to judge (and name): None, never a different answer
    for columns, rows in [
        (["a"], [[1]]),  # a missing column
        (["a", "b"], [[1, "2"]]),  # text
        (["a", "b"], [[1, True]]),  # true/false
        (["a", "b"], [[1, 2], [3]]),  # ragged
        (["a", "b"], []),  # no rows
    ]:
        assert inference.numeric_matrix(columns, rows, schema) is None
    assert inference.numeric_records([{"a": 1}], schema) is None
    assert inference.numeric_records([[1, 2]], schema) is None
    categorical = {"target": "y", "columns": {"a": "categorical"}, "dtypes": {}}
    assert inference.numeric_matrix(["a"], [[1]], categorical) is None
    # check_input itself accepts what the fast path took, and gives the same numbers
    checked, _ = inference.check_input(pd.DataFrame({"a": [1, None], "b": [2.5, 4]}), schema)
    np.testing.assert_array_equal(checked[["b", "a"]].to_numpy(), [[2.5, 1.0], [4.0, np.nan]])
