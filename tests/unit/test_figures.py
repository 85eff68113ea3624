"""PNG figures whose bytes depend only on their content, written atomically."""

import pytest

from snaketrain.figures import new_figure, save_png


def drawing(values):
    figure = new_figure(4, 3)
    figure.add_subplot().plot(values)
    return figure


def test_the_same_figure_gives_the_same_bytes_without_metadata(tmp_path):
    save_png(drawing([1, 3, 2]), tmp_path / "a.png")
    save_png(drawing([1, 3, 2]), tmp_path / "b.png")
    save_png(drawing([1, 2, 3]), tmp_path / "c.png")
    a, b, c = ((tmp_path / name).read_bytes() for name in ("a.png", "b.png", "c.png"))
    assert a == b and a != c
    assert a.startswith(b"\x89PNG") and b"tIME" not in a and b"matplotlib" not in a.lower()


def test_a_failed_save_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "plot.png"
    path.write_bytes(b"old")
    figure = drawing([1, 2])
    figure.text(0.5, 0.5, r"$\notacommand$")  # mathtext that cannot be rendered: savefig fails mid-way

    with pytest.raises(ValueError):
        save_png(figure, path)
    assert path.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["plot.png"]
