"""The run's closing summary names the data checks that only warned: the run went on, the user should know."""

import json

from snaketrain.terminal_summary import summary_lines


def write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))


def test_warned_data_checks_are_listed(tmp_path):
    write(tmp_path / "results/gate/decision.json", {"model": "ridge", "value": 0.9, "passed": False, "reasons": []})
    best = {"metric": "f1", "metrics": {"f1": 0.9}, "best_model": "ridge", "ranking": ["ridge"]}
    write(tmp_path / "results/comparison/best.json", best)
    checks = [
        {"check": "min_rows", "column": None, "value": 9, "verdict": "pass"},
        {
            "check": "similar_values",
            "column": "target",
            "value": 1,
            "verdict": "warn",
            "detail": "values that differ only by surrounding spaces or case: 'Adelie' and 'Adelie '",
        },
    ]
    write(tmp_path / "results/validation/report.json", {"checks": checks})
    lines = summary_lines("registry", workdir=tmp_path)
    assert "  data checks:  1 warning(s), see results/report/validation.html" in lines
    assert (
        "    - similar_values column 'target': values that differ only by surrounding spaces or case: "
        "'Adelie' and 'Adelie '" in lines
    )


def test_no_warning_no_line(tmp_path):
    write(tmp_path / "results/gate/decision.json", {"model": "ridge", "value": 0.9, "passed": False, "reasons": []})
    best = {"metric": "f1", "metrics": {"f1": 0.9}, "best_model": "ridge", "ranking": ["ridge"]}
    write(tmp_path / "results/comparison/best.json", best)
    write(tmp_path / "results/validation/report.json", {"checks": []})
    assert not [line for line in summary_lines("registry", workdir=tmp_path) if "data checks" in line]
