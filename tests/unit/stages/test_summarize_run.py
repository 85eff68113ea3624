"""The summarize_run stage's report pages: what a reader of the report sees for a passed and a failed gate."""

import html

from snaketrain.figures import save_png
from snaketrain.stages.summarize_run import comparison_page, gate_page, history_figure, history_page, validation_page

CHECKS = [
    {"check": "min f1", "value": 0.81, "bound": 0.9, "verdict": "fail", "reason": "f1 0.81 misses >= 0.9"},
    {"check": "min accuracy", "value": 0.95, "bound": 0.9, "verdict": "pass", "reason": "accuracy 0.95 meets >= 0.9"},
]
FAILED = {
    "passed": False,
    "model": "random_forest",
    "metric": "f1",
    "value": 0.81,
    "checks": CHECKS,
    "reasons": ["f1 0.81 misses >= 0.9"],
}
PASSED = {**FAILED, "passed": True, "value": 0.95, "checks": CHECKS[1:], "reasons": []}
META = {
    "version": "0123456789abcdef",
    "model": "random_forest",
    "task": "binary",
    "metrics": {"f1": 0.95},
    "input_schema": {"target": "y", "columns": {"a": "numeric", "b": "numeric"}},
    "git_commit": "feedbeef",
}
VERSIONS = [
    {
        "version": "aaaaaaaaaaaaaaaa",
        "model": "ridge",
        "registered_at": "2026-11-01T00:00:00+00:00",
        "metrics": {"f1": 0.9},
    },
    {
        "version": "0123456789abcdef",
        "model": "random_forest",
        "registered_at": "2026-11-02T00:00:00+00:00",
        "metrics": {"f1": 0.95},
    },
]


def text_of(page):
    return html.unescape(page)


def test_a_passed_gate_page_names_the_model_and_the_version_in_production():
    page = text_of(gate_page(PASSED, {"version": META["version"]}, META, {"version": META["version"]}))
    assert "Quality gate <b>PASSED</b>: model <b>random_forest</b> (f1 = 0.95)" in page
    assert f"registered as version <code>{META['version']}</code> and is now in production" in page
    assert "<h2>Registered version</h2>" in page and "feedbeef" in page
    assert "Why it failed" not in page


def test_a_failed_gate_page_gives_the_reasons_and_the_unchanged_production():
    page = text_of(gate_page(FAILED, {"version": None}, META, {"version": META["version"]}))
    assert "Quality gate <b>FAILED</b>: model <b>random_forest</b> (f1 = 0.81) was <b>not</b> promoted" in page
    assert f"production is unchanged (<code>{META['version']}</code>)" in page
    assert "<h2>Why it failed</h2><ul>\n<li>f1 0.81 misses >= 0.9</li>" in page
    assert "<td class='fail'>FAIL</td>" in page and "<td class='pass'>PASS</td>" in page
    assert "<h2>Version in production</h2>" in page
    first = text_of(gate_page(FAILED, {"version": None}, None, None))
    assert "production is unchanged (<code>none</code>)" in first


def test_the_validation_and_comparison_pages_show_the_numbers():
    report = {
        "rows": 569,
        "columns": 31,
        "target": "target",
        "task": "binary",
        "warnings": 1,
        "checks": [
            {"check": "min_rows", "value": 569, "threshold": 50, "verdict": "pass"},
            {"check": "duplicate_rows", "value": 2, "threshold": 0, "verdict": "warn"},
        ],
    }
    page = text_of(validation_page(report))
    assert "<b>569</b> rows x <b>31</b> columns" in page and "2 checks: 1 passed, 1 warnings, 0 failed." in page
    best = {"best_model": "rf", "metric": "f1", "higher_is_better": True, "metrics": {"f1": 0.94}}
    page = text_of(comparison_page("rank,model,f1\n1,rf,0.94\n2,lr,0.9\n", best))
    assert "Best model: <b>rf</b> (f1 = 0.94)" in page and "(higher is better)" in page
    assert "<tr class='best'>" in page and "rf (best)" in page


def test_the_columns_table_shows_what_the_features_made_of_each_column():
    report = {
        "rows": 100,
        "columns": 3,
        "target": "y",
        "task": "regression",
        "warnings": 0,
        "checks": [],
        "kinds": {
            "zip": {"kind": "integer_code", "reason": "whole numbers, 40 distinct values"},
            "delay": {"kind": "integer_code", "reason": "whole numbers, 60 distinct values"},
        },
    }
    decided = {
        "zip": {"kind": "integer_code", "reason": "whole numbers, 40 distinct values"},
        "delay": {"kind": "numeric", "reason": "whole numbers, but their order explains the target as well"},
    }
    page = text_of(validation_page(report, decided))
    zip_row, delay_row = (page[page.index(f"<td>{c}</td>") :].split("</tr>")[0] for c in ("zip", "delay"))
    assert "integer_code" in zip_row and "target-encoded as a code" in zip_row
    assert "numeric" in delay_row and "integer_code" not in delay_row and "order explains" in delay_row
    # a run from before the decision was recorded shows the detected kinds
    assert "integer_code" in text_of(validation_page(report, None)).split("<td>delay</td>")[1].split("</tr>")[0]


def test_the_history_page_compares_the_newest_version_with_production():
    page = text_of(history_page(VERSIONS, "aaaaaaaaaaaaaaaa", "f1"))
    assert "2 registered version(s), oldest first" in page
    assert "<h2>Newest (0123456789abcdef) vs production (aaaaaaaaaaaaaaaa)</h2>" in page
    assert "<td class='pass'>+0.05</td>" in page
    assert "No version has been registered yet." in history_page([], None, "f1")


def test_the_history_figure_plots_each_version_and_marks_production(tmp_path):
    figure = history_figure(VERSIONS, "0123456789abcdef", "f1")
    axes = figure.axes[0]
    assert axes.get_title() == "f1 across registered versions"
    assert list(axes.lines[0].get_ydata()) == [0.9, 0.95]
    assert [text.get_text() for text in axes.texts] == ["production"]
    assert axes.get_ylabel() == "f1 (higher is better)"
    empty = history_figure(VERSIONS, None, "rmse")
    assert empty.axes[0].texts[0].get_text() == "no registered version has rmse yet"
    save_png(figure, tmp_path / "history.png")
    assert (tmp_path / "history.png").read_bytes()[:4] == b"\x89PNG"


def test_the_history_page_shows_the_plot_it_names():
    png = b"\x89PNG\r\n\x1a\n-a-plot"
    with_plot = history_page(VERSIONS, "aaaaaaaaaaaaaaaa", "f1", plot=png)
    assert "The plot under this table shows <b>f1</b>" in with_plot
    assert "src='data:image/png;base64,iVBORw0KGgotYS1wbG90'" in with_plot
    assert "plot" not in text_of(history_page(VERSIONS, "aaaaaaaaaaaaaaaa", "f1")).lower()


def test_the_gate_page_shows_the_naive_rule_and_says_a_threshold_free_metric_ignores_the_threshold():
    from snaketrain.stages.summarize_run import judgement_section

    decision = {
        "metric": "roc_auc",
        "value": 0.74,
        "positive_class": "bad",
        "threshold": 0.21,
        "threshold_on": "predict_proba",
        "naive": {
            "naive_rule": "one score for every row (the class prior): ROC AUC 0.5",
            "bound": 0.5,
            "lower_bound": 0.1,
        },
    }
    text = judgement_section(decision)
    assert "ROC AUC 0.5" in text and "0.74 for the model" in text
    assert "Decision threshold: <b>0.21</b>" in text and "does not depend on the threshold" in text
