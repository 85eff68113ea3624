"""The HTML report, the run summary, and the rerun promise with the report rules in the DAG."""

import json
import re

import pytest
import yaml
from tests.workflow.chromium import Browser, find_chromium

from tests.harness import ROOT, planned_jobs, snakemake

pytestmark = pytest.mark.workflow
ARTIFACTS = ROOT / "test-artifacts"

# click the innermost element of the menu (nav) showing exactly this text, as a user clicks an entry or breadcrumb
CLICK_TEXT = """(text) => {
    const hits = [...document.querySelectorAll('#app nav *')].filter(e => e.textContent.trim() === text);
    if (!hits.length) return false;
    hits[hits.length - 1].click();
    return true;
}"""
# click the eye (view) button in the result row showing this text
VIEW_ROW = """(text) => {
    const row = [...document.querySelectorAll('#app nav tr')].find(r => r.textContent.includes(text));
    if (!row) return false;
    row.querySelector('a[iconname="eye"]').click();
    return true;
}"""
APP_TEXT = "new Promise(r => setTimeout(r, 250)).then(() => document.querySelector('#app').innerText)"


def click(browser, text):
    assert browser.evaluate(f"({CLICK_TEXT})({json.dumps(text)})"), f"nothing to click showing {text!r}"
    return browser.evaluate(APP_TEXT)


def view(browser, row_text):
    assert browser.evaluate(f"({VIEW_ROW})({json.dumps(row_text)})"), f"no result row showing {row_text!r}"
    return browser.evaluate(APP_TEXT)


def read_json(path):
    return json.loads(path.read_text())


def test_successful_run_builds_the_report_and_prints_the_summary(default_run):
    out = (default_run / "run.out").read_text()
    decision = read_json(default_run / "results/gate/decision.json")
    deployed = read_json(default_run / "results/deploy/receipt.json")
    summary = out.split("snaketrain summary", 1)[1]
    assert f"best model:   {decision['model']} ({decision['metric']} = {decision['value']})" in summary
    assert "quality gate: PASSED" in summary
    assert f"registered:   version {deployed['version']}" in summary
    assert f"production:   {deployed['version']}" in summary
    assert "report:       report.html" in summary
    report = default_run / "report.html"
    assert report.stat().st_size > 500_000  # self-contained: scripts and images are inside
    assert "Report created." in out


def test_report_shows_every_model_and_the_gate_decision_in_a_real_browser(default_run, tmp_path):
    binary = find_chromium()
    if binary is None:
        pytest.fail("Chromium is needed for this test: apt-get install -y chromium")
    report = tmp_path / "report.html"
    snakemake(default_run, "--report", str(report))
    models = yaml.safe_load((default_run / "config/config.yaml").read_text())["models"]
    decision = read_json(default_run / "results/gate/decision.json")
    deployed = read_json(default_run / "results/deploy/receipt.json")
    best = read_json(default_run / "results/comparison/best.json")
    ARTIFACTS.mkdir(exist_ok=True)

    with Browser(tmp_path / "chromium-profile", binary) as browser:
        browser.open(report.as_uri())
        home = browser.wait_for(
            "document.querySelector('#app') && document.querySelector('#app').innerText.includes('RESULTS')"
            " && document.querySelector('#app').innerText"
        )
        for category in ("1. Validation", "2. Models", "3. Comparison", "4. Quality gate", "5. Registry"):
            assert category in home

        shown = click(browser, "2. Models")
        for model in models:
            assert re.search(rf"^{model}$", shown, re.MULTILINE), f"model {model} missing from the report"
        for model in models:
            page = click(browser, model)
            assert "test diagnostics" in page and "feature importance" in page
            click(browser, "2. Models")  # back, through the breadcrumb

        # the best model's diagnostics: the PNG is decoded and displayed
        click(browser, decision["model"])
        view(browser, "test diagnostics")
        size = browser.wait_for(
            "(() => { const i = document.querySelector('img[src^=\"data:image/png\"]');"
            " return i && i.complete && i.naturalWidth > 0 && [i.naturalWidth, i.naturalHeight]; })()"
        )
        assert size[0] > size[1] > 100
        browser.screenshot(ARTIFACTS / "report-model.png")

        click(browser, "Results")  # back to the categories, through the breadcrumb
        comparison = click(browser, "3. Comparison")
        assert f"best: {best['best_model']}" in comparison

        click(browser, "Results")
        gate = click(browser, "4. Quality gate")
        expected = f"PASSED: {decision['model']} registered as {deployed['version']}, in production"
        assert expected in gate
        view(browser, expected)
        browser.wait_for("(() => { const f = document.querySelector('iframe'); return f && f.src.startsWith('data:'); })()")
        browser.screenshot(ARTIFACTS / "report-gate.png")

        click(browser, "Results")
        registry = click(browser, "5. Registry")
        assert "selection metric across registered versions (plot)" in registry

    # the gate page itself holds the decision and the registered version's metadata
    gate_page = (default_run / "results/report/gate.html").read_text()
    assert "Quality gate <b>PASSED</b>" in gate_page
    assert deployed["version"] in gate_page and "dataset sha256" in gate_page


def test_second_run_has_nothing_to_do_and_keeps_the_report(default_run):
    report = default_run / "report.html"
    before = report.stat().st_mtime_ns
    assert planned_jobs(default_run) == {}
    out = snakemake(default_run, "--cores", "2").stdout
    assert "Nothing to be done" in out
    assert "snaketrain summary" not in out  # onsuccess runs only after a run that did work
    assert report.stat().st_mtime_ns == before


def test_dry_run_on_a_fresh_checkout_works_and_writes_no_report(project):
    # with report-after-run in the profile this would fail: the report's files do not exist yet
    result = snakemake(project, "-n")
    assert "This was a dry-run" in result.stdout
    assert not (project / "report.html").exists()


def test_changing_a_gate_threshold_plans_only_the_gate_and_what_follows(default_run, tmp_path):
    overlay = tmp_path / "gate.yaml"
    overlay.write_text("gate:\n  thresholds:\n    accuracy: 0.91\n    f1: 0.9\n")
    planned = planned_jobs(default_run, "--configfile", str(overlay))
    assert planned["quality_gate"] == 1
    downstream = {"quality_gate", "register_model", "deploy_model", "raise_alert", "summarize_run", "all"}
    assert set(planned) <= downstream, planned

