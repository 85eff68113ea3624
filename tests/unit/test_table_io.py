"""Artifacts reach their final name whole or not at all, and equal content gives equal bytes."""

import hashlib
import json

import numpy as np
import pandas as pd
import pytest

from snaketrain.table_io import atomic_path, dumps_json, read_json, read_table, sha256_file, write_json, write_table


def test_json_is_canonical_and_takes_numpy_values(tmp_path):
    first = dumps_json({"b": np.float64(0.5), "a": np.arange(3), "c": np.int64(7)})
    assert first == dumps_json({"c": 7, "a": [0, 1, 2], "b": 0.5})
    assert list(json.loads(first)) == ["a", "b", "c"]
    write_json({"b": 1, "a": 2}, tmp_path / "deep" / "x.json")
    assert read_json(tmp_path / "deep" / "x.json") == {"a": 2, "b": 1}


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "result.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_path(path) as tmp:
        tmp.write_text("half written")
        raise RuntimeError("the job was interrupted")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_tables_round_trip_and_hash_like_sha256sum(tmp_path):
    frame = pd.DataFrame({"x": [1.5, np.nan], "city": ["oslo", None]})
    write_table(frame, tmp_path / "t.parquet")
    pd.testing.assert_frame_equal(read_table(tmp_path / "t.parquet"), frame)
    assert read_table(tmp_path / "t.parquet", columns=["x"]).columns.tolist() == ["x"]
    data = (tmp_path / "t.parquet").read_bytes()
    assert sha256_file(tmp_path / "t.parquet", chunk_size=7) == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_written_files_get_the_mode_the_umask_gives_a_new_file(tmp_path, umask):
    import os

    previous = os.umask(umask)
    try:
        write_json({"a": 1}, tmp_path / "x.json")
        write_table(pd.DataFrame({"x": [1]}), tmp_path / "t.parquet")
        with open(tmp_path / "plain.txt", "w") as fh:
            fh.write("as open() writes it")
    finally:
        os.umask(previous)
    expected = 0o666 & ~umask
    for name in ("x.json", "t.parquet", "plain.txt"):
        assert (tmp_path / name).stat().st_mode & 0o777 == expected, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain.txt", "t.parquet", "x.json"]
