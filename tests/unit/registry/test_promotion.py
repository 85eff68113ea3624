"""Promotion as compare-and-swap (model_registry.promote with expected) and the choice among candidates that
compete for one name (model_registry.best_candidate)."""

import pytest

from snaketrain.registry import model_registry as registry
from snaketrain.stage_log import StageError


def publish(root, tmp_path, *contents, name="iris"):
    versions = []
    for content in contents:
        path = tmp_path / f"{content}.bin"
        path.write_text(content)
        versions.append(registry.publish(root, {"pipeline.skops": path}, {"model": "rf"}, name)[0])
    return versions


def test_promote_moves_production_only_from_the_expected_version(tmp_path):
    root = tmp_path / "registry"
    a, b, c = publish(root, tmp_path, "a", "b", "c")
    assert registry.promote(root, a, "iris", expected=None) is None
    assert registry.promote(root, b, "iris", expected=a) == a
    before = registry.production_path(root, "iris").read_bytes()
    history = registry.read_history(root, "iris")
    with pytest.raises(registry.ProductionMoved) as raised:
        registry.promote(root, c, "iris", expected=a)
    moved = raised.value
    assert isinstance(moved, StageError)
    assert (moved.name, moved.version, moved.expected, moved.actual) == ("iris", c, a, b)
    promoted_at = registry.production(root, "iris")["promoted_at"]
    assert str(moved).startswith(
        f"[registry] production of model 'iris' is {b} (promoted at {promoted_at}), "
        f"not {a} as the caller expected: version {c} was not promoted (it stays registered)"
    )
    # nothing changed: pointer, history, and the version is still registered
    assert registry.production_path(root, "iris").read_bytes() == before
    assert registry.read_history(root, "iris") == history
    assert c in registry.read_index(root, "iris")["versions"]


def test_expecting_nothing_in_production_fails_once_something_is(tmp_path):
    root = tmp_path / "registry"
    a, b = publish(root, tmp_path, "a", "b")
    registry.promote(root, a, "iris", expected=None)
    with pytest.raises(registry.ProductionMoved, match=f"is {a} .*not nothing in production as the caller expected"):
        registry.promote(root, b, "iris", expected=None)
    # a rollback is named as such; so is the version replaced, when production moved more than once
    c = publish(root, tmp_path, "c")[0]
    registry.promote(root, b, "iris")
    registry.rollback(root, "iris")
    with pytest.raises(registry.ProductionMoved, match=f"is {a} \\(put back by a rollback at [^,]*\\), not {b} "):
        registry.promote(root, c, "iris", expected=b)
    registry.promote(root, c, "iris")
    with pytest.raises(registry.ProductionMoved, match=f"is {c} \\(promoted at .*, replacing {a}\\), not {b} "):
        registry.promote(root, b, "iris", expected=b)


def test_the_version_already_in_production_passes_and_the_old_call_checks_nothing(tmp_path):
    root = tmp_path / "registry"
    a, b = publish(root, tmp_path, "a", "b")
    registry.promote(root, a, "iris")
    # another run promoted the very same content: promoting it again replaces nothing
    assert registry.promote(root, a, "iris", expected=None) == a
    # without expected (tools and tests that decided for themselves) production moves whatever it is
    assert registry.promote(root, b, "iris") == a
    assert [e["event"] for e in registry.read_history(root, "iris")].count("promoted") == 2


def test_names_are_checked_separately(tmp_path):
    root = tmp_path / "registry"
    (iris,) = publish(root, tmp_path, "a", name="iris")
    (churn,) = publish(root, tmp_path, "b", name="churn")
    registry.promote(root, iris, "iris", expected=None)
    assert registry.promote(root, churn, "churn", expected=None) is None


def candidate(experiment, value, passed=True):
    return {"experiment": experiment, "version": f"v-{experiment}", "value": value, "passed": passed}


def test_best_candidate_is_the_best_passed_one_by_the_metric_direction():
    candidates = [candidate("a", 0.90), candidate("b", 0.95), candidate("c", 0.99, passed=False)]
    assert registry.best_candidate(candidates, "higher")["experiment"] == "b"
    errors = [candidate("a", 3.0), candidate("b", 2.5), candidate("c", 1.0, passed=False)]
    assert registry.best_candidate(errors, "lower")["experiment"] == "b"


def test_best_candidate_ties_go_to_the_experiment_name_that_sorts_first():
    tied = [candidate("zeta", 0.9), candidate("alpha", 0.9), candidate("mid", 0.8)]
    assert registry.best_candidate(tied, "higher")["experiment"] == "alpha"
    assert registry.best_candidate(list(reversed(tied)), "higher")["experiment"] == "alpha"
    assert registry.best_candidate(tied, "lower")["experiment"] == "mid"


def test_best_candidate_is_none_when_none_passed_and_refuses_an_unknown_direction():
    assert registry.best_candidate([candidate("a", 0.9, passed=False)], "higher") is None
    assert registry.best_candidate([], "lower") is None
    with pytest.raises(ValueError, match="'higher' or 'lower'"):
        registry.best_candidate([candidate("a", 0.9)], "up")
