"""Figures for the evaluation plots and the report pages, saved as PNGs whose bytes depend only on their content.

matplotlib's object API only (Figure + savefig, never pyplot): jobs may run as threads of one process, and
pyplot keeps global state. PNGs carry no timestamp or software metadata, so the same plot gives the same bytes.
"""

import base64
import html

from snaketrain.table_io import atomic_path

# the report pages' look (summarize_run's pages and the experiments page): one style, no horizontal scrolling
STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 1.2em; color: #1f2937; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; } h2 { font-size: 1.1em; margin-top: 1.4em; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.92em; }
th, td { border: 1px solid #d1d5db; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td { overflow-wrap: anywhere; max-width: 48em; }
th { background: #f3f4f6; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.best td { background: #ecfdf5; font-weight: 600; }
.pass { color: #047857; font-weight: 600; } .fail { color: #b91c1c; font-weight: 600; }
.warn { color: #b45309; font-weight: 600; } .skipped { color: #6b7280; }
.banner { padding: 0.6em 1em; border-radius: 6px; font-size: 1.1em; margin: 0.6em 0; }
.banner.pass { background: #ecfdf5; border: 1px solid #10b981; }
.banner.fail { background: #fef2f2; border: 1px solid #ef4444; }
code { background: #f3f4f6; padding: 0 0.25em; border-radius: 3px; }
"""


def page(title, body):
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>\n"
        f"<body><h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n"
    )


def png_image(png, alt):
    """An <img> holding the PNG bytes, so that the page shows its plot on its own."""
    data = base64.b64encode(png).decode("ascii")
    return f"<p><img alt='{html.escape(alt)}' src='data:image/png;base64,{data}' style='max-width:100%'></p>"


def new_figure(width, height):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100)


def save_png(figure, path):
    with atomic_path(path) as tmp:
        # no Software/date metadata, so that the same plot gives the same bytes
        figure.savefig(tmp, format="png", metadata={"Software": None})
