"""Figures for the evaluation plots and the report pages, saved as PNGs whose bytes depend only on their content.

matplotlib's object API only (Figure + savefig, never pyplot): jobs may run as threads of one process, and
pyplot keeps global state. PNGs carry no timestamp or software metadata, so the same plot gives the same bytes.
"""

from snaketrain.table_io import atomic_path


def new_figure(width, height):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def save_png(figure, path):
    with atomic_path(path) as tmp:
        # no Software/date metadata, so that the same plot gives the same bytes
        figure.savefig(tmp, format="png", metadata={"Software": None})
