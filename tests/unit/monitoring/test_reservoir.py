"""The service's input sample: bounded, uniform, only the model's input columns, written whole."""

import pandas as pd

from snaketrain.monitoring.reservoir import Reservoir


def test_the_sample_is_bounded_uniform_and_holds_only_input_columns(tmp_path):
    path = tmp_path / "sample.csv"
    sample = Reservoir(path, 100, ["x", "city"], write_every=50)
    for start in range(0, 10_000, 10):
        sample.add([{"x": i, "city": "oslo", "token": "secret"} for i in range(start, start + 10)])
    written = pd.read_csv(path)
    assert list(written.columns) == ["x", "city"] and len(written) == 100 and sample.seen == 10_000
    assert "secret" not in path.read_text()
    # uniform: the kept rows come from the whole stream, not only its start
    assert written["x"].min() < 2_000 and written["x"].max() > 8_000


def test_the_first_rows_are_written_at_once(tmp_path):
    sample = Reservoir(tmp_path / "s.csv", 10, ["x"])
    sample.add([{"x": 1.5}])
    assert pd.read_csv(tmp_path / "s.csv")["x"].tolist() == [1.5]
